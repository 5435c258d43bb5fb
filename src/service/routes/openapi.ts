import fastifySwagger from "@fastify/swagger";
import type { FastifyInstance, FastifyPluginAsync } from "fastify";

/** The OpenAPI document's fixed parts; the paths come from the route schemas (@fastify/swagger). */
export const OPENAPI_INFO = {
  title: "TwinLedger gateway",
  version: "1",
  description:
    "Consent-checked reads of patient digital twins: EIP-712-signed queries (`/v1/query`), the access log " +
    "(`/v1/access-log`), cohort queries of consented studies (`/v1/cohort-query`), and a FHIR R4 read API (`/fhir/r4`) with SMART App Launch v2 scopes. See src/service/README.md.",
} as const;

/**
 * Registers @fastify/swagger on the root instance (it must see every route, so call it before the route plugins)
 * and serves the document at `GET /openapi.json`. The document names no server: the origin is the deployment's.
 */
export function registerOpenApi(app: FastifyInstance): void {
  void app.register(fastifySwagger, {
    openapi: {
      openapi: "3.0.3",
      info: OPENAPI_INFO,
      components: {
        securitySchemes: {
          twinLedger: {
            type: "http",
            scheme: "TwinLedger",
            description:
              "`Authorization: TwinLedger <base64url(JSON {query, signature, reader})>`: the reader's EIP-712 `Query` " +
              "(queryType `fhir-search` or `fhir-scopes`), params `{path, search}` of the request (fhir-api/authorization.ts).",
          },
        },
      },
      tags: [
        { name: "query", description: "Signed queries (EIP-712 `Query`)" },
        { name: "access log", description: "The append-only, anchored access log" },
        { name: "research", description: "Cohort queries of consented studies (EIP-712 `CohortQuery`)" },
        { name: "fhir", description: "FHIR R4 read API, signed requests in the Authorization header" },
        { name: "operations", description: "Liveness and the API description" },
      ],
    },
  });
}

/** `GET /openapi.json`: the gateway's OpenAPI 3 document, generated from the route schemas. */
export const openApiRoutes: FastifyPluginAsync = async (app) => {
  app.get("/openapi.json", { schema: { hide: true } }, async (_request, reply) =>
    reply.type("application/json").send(app.swagger()),
  );
};

/** Where the committed document lives (`npm run openapi` writes it, `npm run openapi:check` compares). */
export const OPENAPI_DOCUMENT_PATH = "docs/openapi.json";

/** The document as committed: two-space JSON and a final newline, so that the check is a string comparison. */
export function formatOpenApi(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
