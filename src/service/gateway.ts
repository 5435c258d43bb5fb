import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from "fastify";
import { getAddress } from "ethers";
import type { ConsentPolicy, TwinRegistry, TwinUpdateLog } from "../../typechain-types";
import {
  ACCESS_LOG_REQUEST_TYPES,
  domainOf,
  GATEWAY_DOMAIN_NAME,
  QUERY_TYPES,
  TypedDataHasher,
  type AccessLogRequest,
  type GatewayQuery,
} from "../chain/typed-data";
import type { TwinDataReader } from "../pipeline/reader";
import { canonicalHash } from "../twin/canonical";
import { TwinEngineError } from "../twin/errors";
import { ALL_PURPOSES } from "../vocabulary";
import { AccessLog, type AccessLogAnchorRecord, type AccessLogInput, type NonceUse } from "./access-log";
import { audienceOf, checkAudience, operatorOf, originOf, type GatewayAudience } from "./audience";
import { ConsentChecker, REFUSAL_MESSAGE, REFUSAL_STATUS, type ConsentOutcome, type RefusalReason } from "./consent";
import { AccessLogNonceStore, type NonceStore } from "./nonces";
import { registerWebApp, type WebAppOptions } from "./app-static";
import { GatewayError, type GatewayErrorCode } from "./errors";
import { LogPolicy, RateLimits, type RateLimitOptions } from "./rate-limits";
import { SignatureVerifier } from "./signatures";
import { actionOf, buildAnswer, checkCategory, checkParams, isQueryType, type QueryType } from "./queries";
import type { AccessLogResponse, QueryBody, QueryResponse } from "./types";

/**
 * The query gateway: a Fastify HTTP service (127.0.0.1 by default).
 *
 * `POST /v1/query` with `{query, params, signature, reader?}`: `query` is the EIP-712 `Query` signed by the reader
 * (domain `{name: "TwinLedger Gateway", version: "1", chainId, verifyingContract: ConsentPolicy}`). Checks, in order:
 * body schema (400, 413 above `bodyLimit`), query type / params / category / purpose (400), signature (401
 * `bad-signature`; `reader`, when given, must be the signer), params hash (400 `params-mismatch`), audience (401
 * `wrong-audience`: the signed operator and origin are this gateway's, audience.ts), freshness (401
 * `expired-request`), replay (409 `replayed`), the twin as the pipeline holds it (404 `unknown-twin`, 410 `erased`),
 * then consent on chain at the head (403/404/410 with the refusal code), beside it the operator's standing and the
 * windows at the gateway's clock (consent.ts, standing.ts, windows.ts). Every request that passed the audience
 * check is appended to the access log, allowed or refused.
 *
 * `GET /v1/access-log/:twinId?issuedAt&nonce&signature[&reader&cursor&limit]`: an `AccessLogRequest` signed by the
 * twin's owner or delegate (registry.isController) or an auditor; the twin's entries with their Merkle proofs to the
 * roots anchored by `TwinUpdateLog.anchorAccessLog`.
 */
export interface GatewayOptions extends WebAppOptions {
  /** The pipeline's read side (src/pipeline TwinPipeline, or any TwinDataReader). */
  readonly data: TwinDataReader;
  readonly consent: ConsentPolicy;
  readonly registry: TwinRegistry;
  /** Connected to the operator's signer (an accredited custodian): needed by `anchorNow` and the interval. */
  readonly updateLog?: TwinUpdateLog;
  readonly chainId: bigint | number;
  /** SQLite file of the access log and nonces (`:memory:` for a throwaway gateway). */
  readonly dbPath: string;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  /** Largest |now − issuedAt|, seconds. Default 60. */
  readonly freshnessSeconds?: number;
  /** Largest body, bytes. Default 64 KiB. */
  readonly bodyLimit?: number;
  /** Anchor the new access-log entries every this many ms (needs `updateLog`); off if absent or 0. */
  readonly anchorIntervalMs?: number;
  /** Addresses that may read any twin's access log. */
  readonly auditors?: readonly string[];
  /** Gateway clock, epoch ms. Default Date.now. */
  readonly clock?: () => number;
  /**
   * The operator's address: the audience every request must name, and whose standing (custodian of the twin,
   * accredited) is checked at the head. Default: the signer `updateLog` is connected to.
   */
  readonly operator?: string;
  /**
   * The origin readers address (`https://host[:port]`), part of every request's signed audience. Default: the
   * listening address (`http://127.0.0.1:<port>`); set it behind a proxy or a DNS name.
   */
  readonly origin?: string;
  /** Where used nonces are kept; default the access log's per-process store. Replicas share one. */
  readonly nonceStore?: NonceStore;
  /** Poll for new heads every this many ms even without requests; default only on requests. */
  readonly headPollMs?: number;
  /** Limits per client address and per signer, and the refusal counters' period (defaults: rate-limits.ts). */
  readonly limits?: RateLimitOptions;
  /** Called with errors of the anchoring interval (never with request data). */
  readonly onAnchorError?: (error: unknown) => void;
}

export interface Gateway {
  readonly app: FastifyInstance;
  /** Starts listening; resolves with the base URL, e.g. `http://127.0.0.1:41234`. */
  listen(): Promise<string>;
  /** Stops the interval, waits for an anchoring in progress, closes the server and the access log. */
  close(): Promise<void>;
  /** Anchors the access-log entries not anchored yet; null when there are none. */
  anchorNow(): Promise<AccessLogAnchorRecord | null>;
  readonly accessLog: AccessLog;
}

export const DEFAULT_FRESHNESS_SECONDS = 60;
export const DEFAULT_BODY_LIMIT = 64 * 1024;

const BYTES32 = "^0x[0-9a-fA-F]{64}$";
const SIGNATURE = "^0x[0-9a-fA-F]{130}$";
const ADDRESS = "^0x[0-9a-fA-F]{40}$";
/** Query-string integers (no type coercion anywhere: what is signed is what is checked). */
const DECIMAL = "^[0-9]{1,15}$";

const QUERY_BODY_SCHEMA = {
  type: "object",
  required: ["query", "params", "signature"],
  additionalProperties: false,
  properties: {
    query: {
      type: "object",
      required: ["operator", "origin", "twinId", "queryType", "category", "purpose", "issuedAt", "nonce", "paramsHash"],
      additionalProperties: false,
      properties: {
        operator: { type: "string", pattern: ADDRESS },
        origin: { type: "string", minLength: 1, maxLength: 512 },
        twinId: { type: "string", pattern: BYTES32 },
        queryType: { type: "string", minLength: 1, maxLength: 64 },
        category: { type: "integer", minimum: 0, maximum: 4294967295 },
        purpose: { type: "integer", minimum: 0, maximum: 65535 },
        issuedAt: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
        nonce: { type: "string", pattern: BYTES32 },
        paramsHash: { type: "string", pattern: BYTES32 },
      },
    },
    params: { type: "object" },
    signature: { type: "string", pattern: SIGNATURE },
    reader: { type: "string", pattern: ADDRESS },
  },
} as const;

const ACCESS_LOG_PARAMS_SCHEMA = {
  type: "object",
  required: ["twinId"],
  properties: { twinId: { type: "string", pattern: BYTES32 } },
} as const;

const ACCESS_LOG_QUERY_SCHEMA = {
  type: "object",
  required: ["issuedAt", "nonce", "signature"],
  additionalProperties: false,
  properties: {
    issuedAt: { type: "string", pattern: DECIMAL },
    nonce: { type: "string", pattern: BYTES32 },
    signature: { type: "string", pattern: SIGNATURE },
    reader: { type: "string", pattern: ADDRESS },
    cursor: { type: "string", pattern: DECIMAL },
    limit: { type: "string", pattern: DECIMAL },
  },
} as const;

/** The query type logged for access-log reads. */
export const ACCESS_LOG_QUERY_TYPE = "access-log";

function fail(code: GatewayErrorCode, message: string): never {
  throw new GatewayError(code, message);
}

export function createGateway(options: GatewayOptions): Gateway {
  const freshness = options.freshnessSeconds ?? DEFAULT_FRESHNESS_SECONDS;
  const clock = options.clock ?? Date.now;
  const auditors = new Set((options.auditors ?? []).map((a) => getAddress(a)));
  const operator = operatorOf(options);
  let audience: GatewayAudience | null = null;
  const setOrigin = (origin: string) =>
    operator.then((address) => (audience = audienceOf(address, origin))).catch(() => undefined);
  if (options.origin !== undefined) void setOrigin(originOf(options.origin));
  const consentChecker = new ConsentChecker(options.consent, {
    registry: options.registry,
    operator,
    clock,
    ...(options.headPollMs !== undefined && { headPollMs: options.headPollMs }),
  });
  const signatures = new SignatureVerifier();
  const recoverSigner = (digest: string, signature: string, claimed: string | undefined): string =>
    signatures.signer(digest, signature, claimed);
  const accessLog = new AccessLog(options.dbPath, { refusalPeriodMs: options.limits?.refusalPeriodMs });
  const nonces: NonceStore = options.nonceStore ?? new AccessLogNonceStore(accessLog);
  const logPolicy = new LogPolicy(accessLog, options.consent);
  const { data, registry } = options;
  // The encoders and the domain separator, built once: hashing a request is then one struct hash.
  const hashers = options.consent.getAddress().then((address) => {
    const domain = domainOf(GATEWAY_DOMAIN_NAME, options.chainId, address);
    return {
      query: new TypedDataHasher(domain, QUERY_TYPES),
      logRequest: new TypedDataHasher(domain, ACCESS_LOG_REQUEST_TYPES),
    };
  });
  hashers.catch(() => undefined);

  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  });

  // JSON only: a text/plain body is refused as an unsupported media type (415), not parsed as a string.
  app.removeContentTypeParser(["text/plain"]);
  const limits = new RateLimits(app, options.limits);
  app.setErrorHandler((error: FastifyError, _request, reply) => sendError(reply, errorBody(error)));
  app.setNotFoundHandler((_request, reply) =>
    sendError(reply, { status: 404, code: "not-found", message: "no such route" }),
  );

  /** Freshness and replay of a signed request; appends the refusal and throws when stale or replayed. */
  async function admit(entry: AccessLogInput, issuedAt: number, nonce: string): Promise<NonceUse> {
    const nowSec = Math.floor(entry.time / 1000);
    if (Math.abs(nowSec - issuedAt) > freshness) {
      logPolicy.refusalNow({ ...entry, decision: "expired-request", status: 401 }, null);
      fail("expired-request", `issuedAt is more than ${freshness} s from the gateway's clock`);
    }
    const claim = await nonces.claim(entry.reader, nonce, issuedAt + freshness, nowSec);
    if (claim === null) {
      logPolicy.refusalNow({ ...entry, decision: "replayed", status: 409 }, null);
      fail("replayed", "this nonce was already used by this reader");
    }
    return claim;
  }

  app.post<{ Body: QueryBody }>("/v1/query", { schema: { body: QUERY_BODY_SCHEMA } }, async (request, reply) => {
    const { query, params, signature, reader: claimed } = request.body;
    const { queryType } = query;
    if (!isQueryType(queryType)) fail("unknown-query-type", "unknown queryType");
    checkParams(queryType, params);
    checkCategory(queryType, query.category);
    if (query.purpose === 0 || (query.purpose & ~ALL_PURPOSES) !== 0) {
      fail("invalid-purpose", "purpose must be a non-empty mask of defined Purpose bits");
    }

    const signed: GatewayQuery = query;
    const digest = (await hashers).query.digest(signed);
    const reader = recoverSigner(digest, signature, claimed);
    await limits.signer(request, reply, reader);
    let paramsHash: string;
    try {
      paramsHash = canonicalHash(params);
    } catch (error) {
      if (error instanceof TwinEngineError) fail("invalid-params", "params hold a number with no canonical form");
      throw error;
    }
    if (paramsHash !== query.paramsHash.toLowerCase()) {
      fail("params-mismatch", "keccak256 of the canonical JSON of params is not the signed paramsHash");
    }
    checkAudience(query, audience); // 401 wrong-audience, not logged: the request is not addressed to this gateway

    const entry: AccessLogInput = {
      time: clock(),
      twinId: query.twinId,
      reader,
      queryType,
      category: query.category,
      purpose: query.purpose,
      decision: "allowed",
      status: 200,
      requestHash: digest,
    };
    const claim = await admit(entry, query.issuedAt, query.nonce);
    const refuse = async (reason: RefusalReason | GatewayErrorCode, status: number, message: string) => {
      const logIndex = await logPolicy.refusal({ ...entry, decision: reason, status }, claim);
      return reply.code(status).send({ error: reason, message, ...(logIndex !== null && { logIndex }) });
    };

    const holding = data.holding(query.twinId);
    if (holding === "unknown") return refuse("unknown-twin", 404, "the gateway holds no such twin");
    if (holding === "erased") return refuse("erased", 410, "the twin was erased");

    let outcome: ConsentOutcome;
    try {
      outcome =
        queryType === "fhir-export"
          ? await consentChecker.perCategory(query.twinId, reader, query.category, query.purpose)
          : await consentChecker.check(
              query.twinId,
              reader,
              actionOf(queryType, params),
              query.category,
              query.purpose,
            );
    } catch {
      return refuse("chain-unavailable", 503, "the consent check could not reach the chain");
    }
    if (outcome.reason !== null) {
      return refuse(outcome.reason, REFUSAL_STATUS[outcome.reason], REFUSAL_MESSAGE[outcome.reason]);
    }

    let built;
    try {
      const { version, anchor } = data.version(query.twinId);
      built = await buildAnswer(queryType, params, {
        data,
        twinId: query.twinId,
        version,
        state: anchor,
        category: outcome.allowed,
        refusedCategories: query.category & ~outcome.allowed,
      });
    } catch (error) {
      if (error instanceof GatewayError) return refuse(error.code, error.statusCode, error.message);
      if (error instanceof TwinEngineError) return refuse("invalid-params", 400, "the params do not fit the twin");
      return refuse("data-unavailable", 503, "the twin's data could not be read");
    }
    const logIndex = accessLog.append(entry, claim);
    const response: QueryResponse = {
      queryType: queryType as QueryType,
      twinId: query.twinId.toLowerCase(),
      reader,
      category: outcome.allowed,
      purpose: query.purpose,
      logIndex,
      answer: built.answer,
      proofs: built.proofs,
    };
    return reply.code(200).send(response);
  });

  app.get<{
    Params: { twinId: string };
    Querystring: {
      issuedAt: string;
      nonce: string;
      signature: string;
      reader?: string;
      cursor?: string;
      limit?: string;
    };
  }>(
    "/v1/access-log/:twinId",
    {
      schema: { params: ACCESS_LOG_PARAMS_SCHEMA, querystring: ACCESS_LOG_QUERY_SCHEMA },
    },
    async (request, reply) => {
      const { twinId } = request.params;
      const { nonce, signature, reader: claimed } = request.query;
      const issuedAt = Number(request.query.issuedAt);
      const cursor = request.query.cursor === undefined ? undefined : Number(request.query.cursor);
      const limit = request.query.limit === undefined ? undefined : Number(request.query.limit);
      if (audience === null) fail("wrong-audience", "the gateway does not know its origin yet");
      // Signed for this gateway's audience: one signed for another does not recover the claimed reader (401).
      const value: AccessLogRequest = { ...audience, twinId, issuedAt, nonce };
      const digest = (await hashers).logRequest.digest(value);
      const requester = recoverSigner(digest, signature, claimed);
      await limits.signer(request, reply, requester);
      const entry: AccessLogInput = {
        time: clock(),
        twinId,
        reader: requester,
        queryType: ACCESS_LOG_QUERY_TYPE,
        category: 0,
        purpose: 0,
        decision: "allowed",
        status: 200,
        requestHash: digest,
      };
      const claim = await admit(entry, issuedAt, nonce);
      let authorized = auditors.has(requester);
      if (!authorized) {
        try {
          authorized = await registry.isController(twinId, requester, { blockTag: "latest" });
        } catch {
          accessLog.append({ ...entry, decision: "chain-unavailable", status: 503 }, claim);
          fail("chain-unavailable", "the registry could not be reached");
        }
      }
      if (!authorized) {
        logPolicy.refusalNow({ ...entry, decision: "not-authorized", status: 403 }, claim);
        return reply.code(403).send({
          error: "not-authorized",
          message: "only the twin's owner or delegates, or an auditor, may read its access log",
        });
      }
      const logIndex = accessLog.append(entry, claim);
      const response: AccessLogResponse = {
        twinId: twinId.toLowerCase(),
        logIndex,
        ...accessLog.pageOf(twinId, { cursor, limit }),
      };
      return reply.code(200).send(response);
    },
  );

  registerWebApp(app, options); // the web app under /app/, when options.webApp is set
  let timer: NodeJS.Timeout | undefined;
  const anchorNow = (): Promise<AccessLogAnchorRecord | null> => {
    const updateLog = options.updateLog;
    if (updateLog === undefined) {
      return Promise.reject(new GatewayError("internal", "anchoring needs an updateLog connected to the operator"));
    }
    return accessLog.anchor(async (root, fromIndex, toIndex) => {
      const tx = await updateLog.anchorAccessLog(root, fromIndex, toIndex);
      const receipt = await tx.wait();
      if (receipt === null || receipt.status !== 1) throw new GatewayError("internal", "the anchor transaction failed");
      return { transactionHash: receipt.hash, blockNumber: receipt.blockNumber };
    }, clock);
  };
  if (options.anchorIntervalMs !== undefined && options.anchorIntervalMs > 0) {
    timer = setInterval(() => {
      anchorNow().catch((error: unknown) => options.onAnchorError?.(error));
    }, options.anchorIntervalMs);
    timer.unref();
  }

  let closed = false;
  return {
    app,
    accessLog,
    anchorNow,
    async listen(): Promise<string> {
      await hashers;
      const address = await app.listen({ host: options.host ?? "127.0.0.1", port: options.port ?? 0 });
      if (options.origin === undefined) await setOrigin(address);
      await operator;
      return address;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      consentChecker.close();
      await app.close();
      await accessLog.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------

interface ErrorBody {
  readonly status: number;
  readonly code: GatewayErrorCode;
  readonly message: string;
}

/** Maps any error to a JSON body that names no data: our own codes, Fastify's parsing and validation errors, 500. */
function errorBody(error: FastifyError | GatewayError): ErrorBody {
  if (error instanceof GatewayError) return { status: error.statusCode, code: error.code, message: error.message };
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

function sendError(reply: FastifyReply, body: ErrorBody): FastifyReply {
  return reply.code(body.status).send({ error: body.code, message: body.message });
}
