import { TwinLedgerError } from "../errors";

/**
 * The gateway's error codes, as they appear in `{error, message}` bodies, with their HTTP status. Refusal reasons of
 * the consent check are listed in `REFUSAL_STATUS` (src/service/consent.ts).
 */
export const GATEWAY_ERROR_STATUS = {
  /** The body is not valid JSON. */
  "malformed-json": 400,
  /** The body or the query string does not have the required shape. */
  "invalid-body": 400,
  /** `query.queryType` is not one the gateway serves. */
  "unknown-query-type": 400,
  /** The params do not fit the query type (unknown key, wrong type, bad range). */
  "invalid-params": 400,
  /** `query.category` is not allowed for the query type (see the query-type table). */
  "invalid-category": 400,
  /** `query.purpose` is empty or has undefined bits. */
  "invalid-purpose": 400,
  /** keccak256(canonical JSON of params) differs from the signed `paramsHash`. */
  "params-mismatch": 400,
  /** The signature does not recover to an address (malformed), or does not match the claimed signer. */
  "bad-signature": 401,
  /** `issuedAt` is further from the gateway's clock than the freshness window. */
  "expired-request": 401,
  /** The signed audience (operator address, origin) is not this gateway's (src/service/audience.ts). */
  "wrong-audience": 401,
  /** The reader already used this nonce within the freshness window. */
  replayed: 409,
  /** The access-log requester is neither the twin's owner or delegate nor an auditor. */
  "not-authorized": 403,
  /** No such route. */
  "not-found": 404,
  "method-not-allowed": 405,
  /** The body is larger than the gateway's body limit. */
  "body-too-large": 413,
  /** The body is not `application/json`. */
  "unsupported-media-type": 415,
  /** Too many requests from this client address or this signer: retry after the `Retry-After` seconds. */
  "rate-limited": 429,
  /** The chain could not be asked (the consent check never answers from anything but the chain). */
  "chain-unavailable": 503,
  /** The gateway could not read the twin's data. */
  "data-unavailable": 503,
  /** The gateway's database (access log, nonces) cannot be reached now: retry after the `Retry-After` seconds. */
  "store-unavailable": 503,
  /** Cohort queries (routes/research.ts): the gateway has no StudyRegistry configured. */
  "research-unavailable": 503,
  /** Cohort queries: `atBlock` is not mined yet. */
  "invalid-block": 400,
  /** Cohort queries: no study has this id. */
  "unknown-study": 404,
  /** Cohort queries: the signer is not the study's sponsor. */
  "not-sponsor": 403,
  /** Cohort queries: the study is not approved at the block asked, or not open now (closed, outside its window). */
  "study-not-open": 409,
  /** Cohort queries: the study may not ask for this aggregate. */
  "aggregate-not-allowed": 403,
  /** Cohort queries: the study may not read this data category. */
  "category-not-allowed": 403,
  /** Cohort queries: fewer contributors than the study's k; nothing spent, nothing logged. */
  "cohort-too-small": 422,
  /** Cohort queries: the query asks for more ε than the study has left; nothing spent, nothing logged. */
  "budget-exhausted": 409,
  internal: 500,
} as const;

export type GatewayErrorCode = keyof typeof GATEWAY_ERROR_STATUS;

/** An error the gateway answers with `{error: code, message}` and the code's status; the message names no data. */
export class GatewayError extends TwinLedgerError {
  readonly statusCode: number;

  constructor(
    override readonly code: GatewayErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.statusCode = GATEWAY_ERROR_STATUS[code];
  }
}
