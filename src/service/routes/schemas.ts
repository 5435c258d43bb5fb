/**
 * JSON-schema pieces the route plugins share: the patterns of the signed fields and the error body. Query strings
 * are never coerced (`coerceTypes: false`): what is signed is what is checked, so integers in a query string are
 * decimal strings.
 */

export const BYTES32 = "^0x[0-9a-fA-F]{64}$";
export const SIGNATURE = "^0x[0-9a-fA-F]{130}$";
export const ADDRESS = "^0x[0-9a-fA-F]{40}$";
/** Query-string integers (no type coercion anywhere: what is signed is what is checked). */
export const DECIMAL = "^[0-9]{1,15}$";

/** Every non-200 JSON body of the gateway's own routes (`ErrorResponse`, src/service/types.ts). */
export const ERROR_RESPONSE_SCHEMA = {
  type: "object",
  required: ["error", "message"],
  additionalProperties: false,
  properties: {
    error: { type: "string", description: "The error or refusal code (src/service/errors.ts, consent.ts)." },
    message: { type: "string", description: "What went wrong; names no data." },
    logIndex: { type: "integer", description: "The access-log entry of this refusal, when it was logged." },
  },
} as const;

/** The error responses of a signed route: every 4xx and 5xx status has the error body. */
export const ERROR_RESPONSES = {
  "4xx": { description: "Refused: the code says why.", ...ERROR_RESPONSE_SCHEMA },
  "5xx": { description: "Chain or data unreachable, or an internal error.", ...ERROR_RESPONSE_SCHEMA },
} as const;

/** Any JSON object (documented loosely; serialized as it is). */
export const ANY_OBJECT = { type: "object", additionalProperties: true } as const;
