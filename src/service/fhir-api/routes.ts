import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { Resource } from "@medplum/fhirtypes";
import type { RoutePluginOptions } from "../routes/context";
import { errorBody, fail } from "../routes/errors";
import { FHIR_RESOURCE_TYPES, missingScopes, scopesOf, type FhirResourceType } from "../smart-scopes";
import { FHIR_SCOPES_QUERY_TYPE, FHIR_SEARCH_QUERY_TYPE, SCOPES_PATH, type FhirRequestParams } from "./authorization";
import { FhirAdmission, sendOutcome } from "./admission";
import { answerOf, ResourceNotFound, stamp } from "./answer";
import { FHIR_JSON } from "./bundle";
import { capabilityStatement } from "./capability";
import { FHIR_ERROR_RESPONSES, readSchema, SCOPES_RESPONSE_SCHEMA, searchSchema } from "./schemas";
import { parseSearch, searchParamsOf } from "./search";

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
 * on chain or here, erased, suspended for a stranger) get one and the same refusal: 403, `NO_ACCESS` (admission.ts).
 * Refusals are logged as on `/v1/query` (rate-limits.ts, `LogPolicy`); every answer is an access-log entry.
 */

export const fhirRoutes: FastifyPluginAsync<RoutePluginOptions> = async (app, { ctx }) => {
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const body = errorBody(error);
    return sendOutcome(reply, body.status, body.code, body.message);
  });
  app.setNotFoundHandler((_request, reply) =>
    sendOutcome(reply, 404, "not-found", "no such resource type or operation at this FHIR API"),
  );
  const prefix = app.prefix;
  const admission = new FhirAdmission(ctx);

  /** The signed params of a request: its path below the FHIR base and its query string (authorization.ts). */
  const paramsOf = (request: FastifyRequest): FhirRequestParams => {
    const url = new URL(request.url, "http://gateway.invalid");
    const path = decodeURIComponent(url.pathname.slice(prefix.length + 1));
    return { path, search: searchParamsOf(url.searchParams) };
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
    const a = await admission.admit(request, reply, {
      queryType: FHIR_SEARCH_QUERY_TYPE,
      params,
      categories: search.categories,
      scopeType: type,
    });
    if (a === null) return reply;
    if (search.explicitCategories && a.allowed !== search.categories) {
      return admission.refuseScopes(
        reply,
        a,
        "category-not-granted",
        missingScopes(type, search.categories, a.allowed),
      );
    }
    let body: Resource;
    try {
      const base = `${ctx.audience()?.origin ?? ""}${prefix}`;
      body = await answerOf(ctx.data, a, search, { ...params, base, ...(id !== undefined && { id }) });
    } catch (error) {
      if (error instanceof ResourceNotFound) return admission.refuse(reply, a, "not-found", 404, error.message);
      return admission.refuse(reply, a, "data-unavailable", 503, "the twin's data could not be read");
    }
    const logIndex = await ctx.accessLog.append(a.entry);
    return reply.code(200).type(FHIR_JSON).send(stamp(body, logIndex));
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
      const a = await admission.admit(request, reply, { queryType: FHIR_SCOPES_QUERY_TYPE, params, categories: null });
      if (a === null) return reply;
      const logIndex = await ctx.accessLog.append(a.entry);
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
