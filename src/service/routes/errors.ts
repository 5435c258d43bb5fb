import type { FastifyError, FastifyReply } from "fastify";
import { StoreUnavailableError } from "../../store/sql";
import { GatewayError, type GatewayErrorCode } from "../errors";

/** A refusal or failure as the gateway answers it: status, code and a message that names no data. */
export interface ErrorBody {
  readonly status: number;
  readonly code: GatewayErrorCode;
  readonly message: string;
}

/** Maps any error to a JSON body that names no data: our own codes, Fastify's parsing and validation errors, 500. */
export function errorBody(error: FastifyError | GatewayError | StoreUnavailableError): ErrorBody {
  if (error instanceof GatewayError) return { status: error.statusCode, code: error.code, message: error.message };
  if (error instanceof StoreUnavailableError) {
    return { status: 503, code: "store-unavailable", message: "the gateway's database cannot be reached: retry" };
  }
  if (error.validation !== undefined) {
    return {
      status: 400,
      code: "invalid-body",
      message:
        `${error.validationContext ?? "request"} ${error.validation[0]?.instancePath ?? ""} ${error.validation[0]?.message ?? "is invalid"}`
          .replace(/\s+/g, " ")
          .trim(),
    };
  }
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return { status: 413, code: "body-too-large", message: "the body is larger than the gateway accepts" };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return { status: 415, code: "unsupported-media-type", message: "send application/json" };
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return { status: 400, code: "invalid-body", message: "the body is empty" };
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return { status: 400, code: "malformed-json", message: "the body is not valid JSON" };
  }
  if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
    return { status: 400, code: "malformed-json", message: "the body is not valid JSON" };
  }
  if (error.statusCode === 405) return { status: 405, code: "method-not-allowed", message: "method not allowed" };
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return { status: error.statusCode, code: "invalid-body", message: "the request is not valid" };
  }
  return { status: 500, code: "internal", message: "internal error" };
}

export function sendError(reply: FastifyReply, body: ErrorBody): FastifyReply {
  return reply.code(body.status).send({ error: body.code, message: body.message });
}

export function fail(code: GatewayErrorCode, message: string): never {
  throw new GatewayError(code, message);
}
