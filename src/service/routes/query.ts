import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { GatewayQuery } from "../../chain/typed-data";
import { TwinEngineError } from "../../twin/errors";
import { ALL_PURPOSES } from "../../vocabulary";
import type { AccessLogInput } from "../access-log";
import { answerJsonOf, queryResponseJson } from "../answer-cache";
import { checkAudience } from "../audience";
import { REFUSAL_MESSAGE, REFUSAL_STATUS, type ConsentOutcome, type RefusalReason } from "../consent";
import { GatewayError, type GatewayErrorCode } from "../errors";
import {
  actionOf,
  buildAnswer,
  checkCategory,
  checkParams,
  isQueryType,
  QUERY_TYPE_NAMES,
  type QueryType,
} from "../queries";
import type { QueryBody } from "../types";
import type { GatewayContext, RoutePluginOptions } from "./context";
import { fail } from "./errors";
import { checkSignedParams } from "./signed-params";
import { ADDRESS, ANY_OBJECT, BYTES32, ERROR_RESPONSES, SIGNATURE } from "./schemas";

export const QUERY_BODY_SCHEMA = {
  type: "object",
  required: ["query", "params", "signature"],
  additionalProperties: false,
  properties: {
    query: {
      type: "object",
      description: "The EIP-712 `Query` the reader signed (src/chain/typed-data.ts).",
      required: ["operator", "origin", "twinId", "queryType", "category", "purpose", "issuedAt", "nonce", "paramsHash"],
      additionalProperties: false,
      properties: {
        operator: { type: "string", pattern: ADDRESS, description: "The audience: the gateway operator's address." },
        origin: { type: "string", minLength: 1, maxLength: 512, description: "The audience: the gateway's origin." },
        twinId: { type: "string", pattern: BYTES32 },
        queryType: { type: "string", minLength: 1, maxLength: 64, examples: [...QUERY_TYPE_NAMES] },
        category: { type: "integer", minimum: 0, maximum: 4294967295, description: "DataCategory mask." },
        purpose: { type: "integer", minimum: 0, maximum: 65535, description: "Purpose mask." },
        issuedAt: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: "Unix seconds." },
        nonce: { type: "string", pattern: BYTES32 },
        paramsHash: { type: "string", pattern: BYTES32, description: "keccak256 of the canonical JSON of params." },
      },
    },
    params: { type: "object", description: "The query type's params." },
    signature: { type: "string", pattern: SIGNATURE },
    reader: { type: "string", pattern: ADDRESS, description: "The signer; a signature by anyone else is a 401." },
  },
} as const;

export const QUERY_RESPONSE_SCHEMA = {
  type: "object",
  required: ["queryType", "twinId", "reader", "category", "purpose", "logIndex", "answer", "proofs"],
  additionalProperties: false,
  properties: {
    queryType: { type: "string", enum: [...QUERY_TYPE_NAMES] },
    twinId: { type: "string" },
    reader: { type: "string", description: "The signer, checksummed." },
    category: { type: "integer", description: "The categories answered (fhir-export: those allowed)." },
    purpose: { type: "integer" },
    logIndex: { type: "integer", description: "The access-log entry of this access." },
    answer: { ...ANY_OBJECT, description: "The query type's answer (src/service/queries.ts)." },
    proofs: { ...ANY_OBJECT, description: "State, record and reading anchors (src/service/README.md)." },
  },
} as const;

/** A query past its signature and audience checks: what the access log records of it. */
interface Authenticated {
  readonly queryType: QueryType;
  readonly entry: AccessLogInput;
}

/**
 * The steps before the freshness check, none logged: query type, params, category, purpose, signature (and the
 * per-signer limit), params hash, audience.
 */
async function authenticate(
  ctx: GatewayContext,
  request: FastifyRequest<{ Body: QueryBody }>,
  reply: FastifyReply,
): Promise<Authenticated> {
  const { query, params, signature, reader: claimed } = request.body;
  const { queryType } = query;
  if (!isQueryType(queryType)) fail("unknown-query-type", "unknown queryType");
  checkParams(queryType, params);
  checkCategory(queryType, query.category);
  if (query.purpose === 0 || (query.purpose & ~ALL_PURPOSES) !== 0) {
    fail("invalid-purpose", "purpose must be a non-empty mask of defined Purpose bits");
  }
  const signed: GatewayQuery = query;
  const digest = (await ctx.hashers).query.digest(signed);
  const reader = ctx.recoverSigner(digest, signature, claimed);
  await ctx.limits.signer(request, reply, reader);
  checkSignedParams(params, query.paramsHash);
  checkAudience(query, ctx.audience()); // 401 wrong-audience, not logged: not addressed to this gateway
  const entry: AccessLogInput = {
    time: ctx.clock(),
    twinId: query.twinId,
    reader,
    queryType,
    category: query.category,
    purpose: query.purpose,
    decision: "allowed",
    status: 200,
    requestHash: digest,
  };
  return { queryType, entry };
}

/** The consent decision at the head: READ (or AGGREGATE) of the signed categories; per category for fhir-export. */
function decide(ctx: GatewayContext, body: QueryBody, queryType: QueryType, reader: string): Promise<ConsentOutcome> {
  const { query, params } = body;
  return queryType === "fhir-export"
    ? ctx.consent.perCategory(query.twinId, reader, query.category, query.purpose)
    : ctx.consent.check(query.twinId, reader, actionOf(queryType, params), query.category, query.purpose);
}

/** A promise's outcome, never rejecting (a decision started early must not reject unobserved). */
function settled<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    () => ({ ok: false as const }),
  );
}

/**
 * The answer and its proofs as JSON: kept from an earlier query with the same question while the twin's data is
 * unchanged (answer-cache.ts), else built at the twin's latest version.
 */
function answerOf(ctx: GatewayContext, body: QueryBody, queryType: QueryType, allowed: number): Promise<string> {
  const { query, params } = body;
  const build = async (): Promise<string> => {
    const { version, anchor } = ctx.data.version(query.twinId);
    const built = await buildAnswer(queryType, params, {
      data: ctx.data,
      twinId: query.twinId,
      version,
      state: anchor,
      category: allowed,
      refusedCategories: query.category & ~allowed,
    });
    return answerJsonOf(built);
  };
  if (ctx.answers === null) return build();
  const { twinId, paramsHash, category } = query;
  return ctx.answers.answerJson(ctx.data, { twinId, queryType, paramsHash, category, allowed }, build);
}

/**
 * `POST /v1/query`: a signed query, checked in order (shape, query type, params, category, purpose, signature,
 * params hash, audience, freshness, replay, the twin as the pipeline holds it, consent on chain at the head, the
 * operator's standing and the windows at the gateway's clock), answered with its proofs, logged.
 */
export const queryRoutes: FastifyPluginAsync<RoutePluginOptions> = async (app, { ctx }) => {
  app.post<{ Body: QueryBody }>(
    "/v1/query",
    {
      schema: {
        summary: "Ask a signed query about a twin",
        tags: ["query"],
        body: QUERY_BODY_SCHEMA,
        response: { 200: QUERY_RESPONSE_SCHEMA, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { query } = request.body;
      const { queryType, entry } = await authenticate(ctx, request, reply);
      // A stale request is refused before anything asks the chain. A fresh one has its consent question asked beside
      // its nonce claim (the claim's commit and the head's poll share the event-loop turn, and neither waits for the
      // other); the answer is read only once the claim is taken, so a replayed request is still refused first, and
      // learns nothing of the consent.
      await ctx.refuseStale(entry, query.issuedAt);
      const deciding = settled(decide(ctx, request.body, queryType, entry.reader));
      await ctx.admit(entry, query.issuedAt, query.nonce);
      const refuse = async (reason: RefusalReason | GatewayErrorCode, status: number, message: string) => {
        const logIndex = await ctx.logPolicy.refusal({ ...entry, decision: reason, status });
        return reply.code(status).send({ error: reason, message, ...(logIndex !== null && { logIndex }) });
      };

      // Consent first, then whether this gateway holds the twin: a reader without consent gets the same refusal for
      // a twin held here and for one that is not, so a stranger cannot learn which twins this gateway serves.
      const decision = await deciding;
      if (!decision.ok) return refuse("chain-unavailable", 503, "the consent check could not reach the chain");
      const outcome = decision.value;
      if (outcome.reason !== null) {
        return refuse(outcome.reason, REFUSAL_STATUS[outcome.reason], REFUSAL_MESSAGE[outcome.reason]);
      }
      const holding = ctx.data.holding(query.twinId);
      if (holding === "unknown") return refuse("unknown-twin", 404, "the gateway holds no such twin");
      if (holding === "erased") return refuse("erased", 410, "the twin was erased");

      let answerJson: string;
      try {
        answerJson = await answerOf(ctx, request.body, queryType, outcome.allowed);
      } catch (error) {
        if (error instanceof GatewayError) return refuse(error.code, error.statusCode, error.message);
        if (error instanceof TwinEngineError) return refuse("invalid-params", 400, "the params do not fit the twin");
        return refuse("data-unavailable", 503, "the twin's data could not be read");
      }
      const logIndex = await ctx.accessLog.append(entry);
      const head = {
        queryType,
        twinId: query.twinId.toLowerCase(),
        reader: entry.reader,
        category: outcome.allowed,
        purpose: query.purpose,
        logIndex,
      };
      return reply.code(200).type("application/json; charset=utf-8").send(queryResponseJson(head, answerJson));
    },
  );
};
