import type { FhirResourceType } from "../smart-scopes";
import { SEARCH_PARAMETERS } from "./search";

/** The route schemas of the FHIR read API (validation and the OpenAPI document). */

const VALUES = {
  anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }],
} as const;

const DESCRIPTIONS: Readonly<Record<string, string>> = {
  _id: "Resource id (token).",
  _count: "Page size, default 50, at most 200.",
  _offset: "Where the page starts among the allowed matches (the `next` link carries it).",
  patient: "The subject: `Patient/<id>` or `<id>`.",
  code: "Token against the main code: `system|code`, `code`, `|code` or `system|`.",
  date: "The clinical time, `[eq|gt|lt|ge|le]YYYY[-MM[-DD[Thh:mm[:ss][zone]]]]`; repeat for a range.",
  category:
    "Observation: the twin's category, `laboratory`, `vital-signs` or `wearable` (each must be granted); others: token.",
};

const OUTCOME = {
  type: "object",
  additionalProperties: true,
  properties: { resourceType: { type: "string", enum: ["OperationOutcome"] } },
} as const;

export const FHIR_ERROR_RESPONSES = {
  "4xx": {
    ...OUTCOME,
    description: "Refused (403 names the missing scopes; a stranger's refusal is one for every twin).",
  },
  "5xx": { ...OUTCOME, description: "Chain or data unreachable." },
} as const;

const SECURITY = [{ twinLedger: [] }];

function resourceSchema(description: string) {
  return {
    type: "object",
    description,
    additionalProperties: true,
    properties: { resourceType: { type: "string" } },
  } as const;
}

export function searchSchema(type: FhirResourceType) {
  return {
    summary: `Search ${type} (searchset of what the consent allows; no total)`,
    tags: ["fhir"],
    security: SECURITY,
    querystring: {
      type: "object",
      additionalProperties: false,
      properties: Object.fromEntries(
        SEARCH_PARAMETERS[type].map((name) => [name, { ...VALUES, description: DESCRIPTIONS[name] }]),
      ),
    },
    response: {
      200: resourceSchema("A searchset Bundle; proofs in meta.extension and entry.extension."),
      ...FHIR_ERROR_RESPONSES,
    },
  };
}

export function readSchema(type: FhirResourceType) {
  return {
    summary: `Read one ${type} (404 when absent or not allowed alike)`,
    tags: ["fhir"],
    security: SECURITY,
    params: {
      type: "object",
      required: ["id"],
      properties: { id: { type: "string", pattern: "^[A-Za-z0-9\\-\\.]{1,64}$" } },
    },
    querystring: { type: "object", additionalProperties: false, properties: {} },
    response: { 200: resourceSchema(`The ${type}; proofs in meta.extension.`), ...FHIR_ERROR_RESPONSES },
  };
}

export const SCOPES_RESPONSE_SCHEMA = {
  type: "object",
  required: ["twinId", "reader", "purpose", "categories", "scope", "scopes", "logIndex"],
  additionalProperties: false,
  properties: {
    twinId: { type: "string" },
    reader: { type: "string" },
    purpose: { type: "integer" },
    categories: { type: "integer", description: "The DataCategory bits held (READ, this purpose)." },
    scope: { type: "string", description: "The scopes, space-separated (as in an OAuth token response)." },
    scopes: { type: "array", items: { type: "string" } },
    logIndex: { type: "integer" },
  },
} as const;
