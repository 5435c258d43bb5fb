import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { Resource } from "@medplum/fhirtypes";
import type { GatewayQuery } from "../../chain/typed-data";
import { canonicalHash } from "../../twin/canonical";
import { ALL_PURPOSES } from "../../vocabulary";
import type { AccessLogInput, NonceUse } from "../access-log";
import { checkAudience } from "../audience";
import { REFUSAL_MESSAGE, REFUSAL_STATUS, type RefusalReason } from "../consent";
import type { GatewayErrorCode } from "../errors";
import type { RoutePluginOptions } from "../routes/context";
import { errorBody, fail } from "../routes/errors";
import { FHIR_CATEGORIES, FHIR_RESOURCE_TYPES, missingScopes, scopesOf, type FhirResourceType } from "../smart-scopes";
import {
  FHIR_SCOPES_QUERY_TYPE,
  FHIR_SEARCH_QUERY_TYPE,
  parseAuthorization,
  SCOPES_PATH,
  type FhirRequestParams,
} from "./authorization";
import { EXTENSION, FHIR_JSON, operationOutcome, searchsetOf, stampLogIndex } from "./bundle";
import { capabilityStatement } from "./capability";
import { FHIR_ERROR_RESPONSES, readSchema, SCOPES_RESPONSE_SCHEMA, searchSchema } from "./schemas";
import { matches, parseSearch, searchParamsOf, type ParsedSearch } from "./search";

/**
 * The FHIR R4 read API (`/fhir/r4`), beside `POST /v1/query`: searches (`GET /fhir/r4/<Type>?...`) and reads
 * (`GET /fhir/r4/<Type>/<id>`) of the seven resource types of smart-scopes.ts, answered from the twin's records
 * (src/fhir/export.ts) as searchset Bundles of what the consent allows, proofs in extensions (bundle.ts); the scopes
 * a reader holds (`GET /fhir/r4/$smart-scopes`); the CapabilityStatement (`GET /fhir/r4/metadata`, unsigned).
 *
 * Each signed request (authorization.ts) goes through the steps of `/v1/query`: shape, query type, search
 * parameters, category, purpose, signature, params hash, audience, freshness, replay, then consent on chain at the
 * head (`perCategory`: READ of each category the request reads), the operator's standing and the windows. A request
 * beyond the scopes held is refused 403 with an OperationOutcome naming the missing scopes (and `WWW-Authenticate:
 * Bearer error="insufficient_scope"`). A stranger (no grant, blocked) and a twin this gateway does not hold (unknown
 * on chain or here, erased, suspended for a stranger) get one and the same refusal: 403, {@link NO_ACCESS}.
 * Refusals are logged as on `/v1/query` (rate-limits.ts, `LogPolicy`); every answer is an access-log entry.
 */

/** Refusals that show the reader no standing on the twin, or no twin: answered all alike. */
const STRANGER: ReadonlySet<string> = new Set(["no-consent", "blocked", "unknown-twin", "erased", "suspended"]);

/** The one refusal of a stranger, whatever the twin (held here, elsewhere, nowhere). */
export const NO_ACCESS = {
  status: 403,
  code: "no-access",
  message: "this reader has no access to this twin at this gateway",
} as const;

function sendOutcome(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply
    .code(status)
    .type(FHIR_JSON)
    .send(operationOutcome(status, code, message));
}

/** A signed request admitted up to the consent decision. */
interface Admitted {
  readonly query: GatewayQuery;
  readonly entry: AccessLogInput;
  readonly claim: NonceUse;
  /** The categories the consent allows of those asked. */
  readonly allowed: number;
}

export const fhirRoutes: FastifyPluginAsync<RoutePluginOptions> = async (app, { ctx }) => {
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const body = errorBody(error);
    return sendOutcome(reply, body.status, body.code, body.message);
  });
  app.setNotFoundHandler((_request, reply) =>
    sendOutcome(reply, 404, "not-found", "no such resource type or operation at this FHIR API"),
  );
  const prefix = app.prefix;

  /** The signed params of a request: its path below the FHIR base and its query string (authorization.ts). */
  const paramsOf = (request: FastifyRequest): FhirRequestParams => {
    const url = new URL(request.url, "http://gateway.invalid");
    const path = decodeURIComponent(url.pathname.slice(prefix.length + 1));
    return { path, search: searchParamsOf(url.searchParams) };
  };

  /** The refusal of a request past the freshness step: logged (LogPolicy), a stranger's answered as NO_ACCESS. */
  const refuse = async (
    reply: FastifyReply,
    a: Pick<Admitted, "entry" | "claim">,
    reason: RefusalReason | GatewayErrorCode | "not-found",
    status: number,
    message: string,
  ): Promise<FastifyReply> => {
    const logIndex = await ctx.logPolicy.refusal({ ...a.entry, decision: reason, status }, a.claim);
    if (STRANGER.has(reason) && logIndex === null) {
      return sendOutcome(reply, NO_ACCESS.status, NO_ACCESS.code, NO_ACCESS.message);
    }
    return sendOutcome(reply, status, reason, message);
  };

  /** A refusal for scopes not held: the OperationOutcome names them, and so does WWW-Authenticate (RFC 6750). */
  const refuseScopes = (reply: FastifyReply, a: Admitted, reason: RefusalReason, missing: readonly string[]) => {
    if (missing.length > 0) {
      reply.header("www-authenticate", `Bearer error="insufficient_scope", scope="${missing.join(" ")}"`);
    }
    const scopes = missing.length > 0 ? `; missing scope ${missing.join(" ")}` : "";
    return refuse(reply, a, reason, REFUSAL_STATUS[reason], `${REFUSAL_MESSAGE[reason]}${scopes}`);
  };

  /** Steps up to the consent decision; null when a refusal was sent. */
  const admit = async (
    request: FastifyRequest,
    reply: FastifyReply,
    queryType: string,
    params: FhirRequestParams,
    categories: number | null,
    scopeType: FhirResourceType | undefined,
  ): Promise<Admitted | null> => {
    const { query, signature, reader: claimed } = parseAuthorization(request.headers.authorization);
    if (query.queryType !== queryType) fail("unknown-query-type", `this route takes queryType ${queryType}`);
    if (categories !== null ? query.category !== categories : (query.category & ~FHIR_CATEGORIES) !== 0) {
      fail("invalid-category", "the signed category is not the categories this request reads");
    }
    if (query.category === 0) fail("invalid-category", "the signed category is empty");
    if (query.purpose === 0 || (query.purpose & ~ALL_PURPOSES) !== 0) {
      fail("invalid-purpose", "purpose must be a non-empty mask of defined Purpose bits");
    }
    const digest = (await ctx.hashers).query.digest(query);
    const reader = ctx.recoverSigner(digest, signature, claimed);
    await ctx.limits.signer(request, reply, reader);
    if (canonicalHash(params) !== query.paramsHash.toLowerCase()) {
      fail("params-mismatch", "the signed paramsHash is not that of this request's path and search");
    }
    checkAudience(query, ctx.audience());
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
    const claim = await ctx.admit(entry, query.issuedAt, query.nonce);
    let outcome;
    try {
      outcome = await ctx.consent.perCategory(query.twinId, reader, query.category, query.purpose);
    } catch {
      await refuse(reply, { entry, claim }, "chain-unavailable", 503, "the consent check could not reach the chain");
      return null;
    }
    const admitted: Admitted = { query, entry, claim, allowed: outcome.allowed };
    if (outcome.reason !== null) {
      const missing = scopeType === undefined ? [] : missingScopes(scopeType, query.category, outcome.allowed);
      await refuseScopes(reply, admitted, outcome.reason, missing);
      return null;
    }
    const holding = ctx.data.holding(query.twinId);
    if (holding !== "active") {
      await refuse(reply, admitted, holding === "erased" ? "erased" : "unknown-twin", 404, "no such twin");
      return null;
    }
    return admitted;
  };

  /** A search, or a read (`id`): the allowed matches, paged, as a searchset (or the one resource). */
  const answer = async (
    request: FastifyRequest,
    reply: FastifyReply,
    type: FhirResourceType,
    id: string | undefined,
  ): Promise<FastifyReply> => {
    const params = paramsOf(request);
    const search = parseSearch(type, params.search, id);
    const a = await admit(request, reply, FHIR_SEARCH_QUERY_TYPE, params, search.categories, type);
    if (a === null) return reply;
    if (search.explicitCategories && a.allowed !== search.categories) {
      return refuseScopes(reply, a, "category-not-granted", missingScopes(type, search.categories, a.allowed));
    }
    let body: Resource;
    try {
      body = await build(a, search, params, id);
    } catch (error) {
      if (error === NOT_FOUND)
        return refuse(reply, a, "not-found", 404, "no such resource, or not one the consent allows");
      return refuse(reply, a, "data-unavailable", 503, "the twin's data could not be read");
    }
    const logIndex = await ctx.accessLog.append(a.entry, a.claim);
    return reply.code(200).type(FHIR_JSON).send(stamp(body, logIndex));
  };

  const NOT_FOUND = new Error("not found");
  const build = async (a: Admitted, search: ParsedSearch, params: FhirRequestParams, id: string | undefined) => {
    const twinId = a.query.twinId;
    const { anchor } = ctx.data.version(twinId);
    const proven = await ctx.data.records(twinId, a.allowed);
    const found = proven.filter((p) => (p.record.category & a.allowed) !== 0 && matches(search, p.record));
    const base = `${ctx.audience()?.origin ?? ""}${prefix}`;
    const page = { base, path: params.path, search: params.search, categories: a.allowed, state: anchor };
    const bundle = searchsetOf({
      ...page,
      matches: found,
      offset: id === undefined ? search.offset : 0,
      count: search.count,
    });
    if (id === undefined) return bundle;
    const entry = bundle.entry?.[0];
    if (entry?.resource === undefined) throw NOT_FOUND;
    const extension = [...(bundle.meta?.extension ?? []), ...(entry.extension ?? [])];
    return { ...entry.resource, meta: { ...entry.resource.meta, extension } } as Resource;
  };

  const stamp = (body: Resource, logIndex: number): Resource => {
    if (body.resourceType === "Bundle") return stampLogIndex(body, logIndex);
    const extension = [...(body.meta?.extension ?? []), { url: EXTENSION.logIndex, valueUnsignedInt: logIndex }];
    return { ...body, meta: { ...body.meta, extension } } as Resource;
  };

  app.get(
    "/metadata",
    { schema: { summary: "The CapabilityStatement (unsigned)", tags: ["fhir"] } },
    (_request, reply) => reply.type(FHIR_JSON).send(capabilityStatement()),
  );

  app.get(
    `/${SCOPES_PATH}`,
    {
      schema: {
        summary: "The SMART v2 scopes the signer holds on the twin, for the signed purpose",
        tags: ["fhir"],
        security: [{ twinLedger: [] }],
        response: { 200: SCOPES_RESPONSE_SCHEMA, ...FHIR_ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const params = paramsOf(request);
      if (Object.keys(params.search).length > 0) fail("invalid-params", "the scopes endpoint takes no parameters");
      const a = await admit(request, reply, FHIR_SCOPES_QUERY_TYPE, params, null, undefined);
      if (a === null) return reply;
      const logIndex = await ctx.accessLog.append(a.entry, a.claim);
      const scopes = scopesOf(a.allowed);
      return reply.code(200).send({
        twinId: a.query.twinId.toLowerCase(),
        reader: a.entry.reader,
        purpose: a.query.purpose,
        categories: a.allowed,
        scope: scopes.join(" "),
        scopes,
        logIndex,
      });
    },
  );

  for (const type of FHIR_RESOURCE_TYPES) {
    app.get(`/${type}`, { schema: searchSchema(type) }, (request, reply) => answer(request, reply, type, undefined));
    app.get<{ Params: { id: string } }>(`/${type}/:id`, { schema: readSchema(type) }, (request, reply) =>
      answer(request, reply, type, request.params.id),
    );
  }
};
