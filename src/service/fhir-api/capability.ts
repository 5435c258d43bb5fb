import type { CapabilityStatement } from "@medplum/fhirtypes";
import { FHIR_RESOURCE_TYPES } from "../smart-scopes";
import { AUTHORIZATION_SCHEME } from "./authorization";
import { SEARCH_PARAMETERS } from "./search";

const TYPES: Readonly<Record<string, "token" | "reference" | "date" | "number">> = {
  _id: "token",
  _count: "number",
  _offset: "number",
  patient: "reference",
  code: "token",
  date: "date",
  category: "token",
};

/** The API's CapabilityStatement (`GET /fhir/r4/metadata`): read and search-type of the seven resource types. */
export function capabilityStatement(): CapabilityStatement {
  return {
    resourceType: "CapabilityStatement",
    status: "active",
    date: "2026-01-01",
    kind: "instance",
    fhirVersion: "4.0.1",
    format: ["json"],
    rest: [
      {
        mode: "server",
        security: {
          description:
            `Every request but this one carries Authorization: ${AUTHORIZATION_SCHEME} <base64url of the reader's ` +
            "EIP-712-signed query>; consent is checked on chain. Scopes: GET $smart-scopes.",
        },
        resource: FHIR_RESOURCE_TYPES.map((type) => ({
          type,
          interaction: [{ code: "read" as const }, { code: "search-type" as const }],
          searchParam: SEARCH_PARAMETERS[type]
            .filter((name) => name !== "_count" && name !== "_offset")
            .map((name) => ({ name, type: TYPES[name] })),
        })),
      },
    ],
  };
}
