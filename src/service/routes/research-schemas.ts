import { VitalSign } from "../../fhir/records";
import { Aggregate } from "../../research";
import { ADDRESS, BYTES32, DECIMAL, SIGNATURE } from "./schemas";

/** JSON schemas of `POST /v1/cohort-query` (routes/research.ts) and of the access log's `studies` (routes/access-log.ts). */

const AGGREGATES = Object.keys(Aggregate);
const MAX_EPSILON_MILLI = 2 ** 48 - 1;
const FINITE = { type: "number", minimum: -1e15, maximum: 1e15 } as const;
const EPOCH_MS = { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

export const COHORT_PARAMS_SCHEMA = {
  type: "object",
  description: "The cohort query; `request.paramsHash` is keccak256 of its canonical JSON (src/twin/canonical.ts).",
  required: ["aggregate", "subject", "window", "epsilonMilli"],
  additionalProperties: false,
  properties: {
    aggregate: { type: "string", enum: AGGREGATES, description: "Among the study's allowed aggregates." },
    subject: {
      description: "A vital sign (its per-twin mean clamped to `bounds`), or a coded condition or medication.",
      oneOf: [
        {
          type: "object",
          required: ["kind", "sign", "bounds"],
          additionalProperties: false,
          properties: {
            kind: { type: "string", enum: ["vital"] },
            sign: { type: "string", enum: Object.keys(VitalSign) },
            bounds: { type: "array", items: FINITE, minItems: 2, maxItems: 2, description: "[lo, hi], lo < hi." },
          },
        },
        {
          type: "object",
          required: ["kind", "code"],
          additionalProperties: false,
          properties: {
            kind: { type: "string", enum: ["condition", "medication"] },
            code: { type: "string", minLength: 1, maxLength: 256, description: "`system|code`." },
          },
        },
      ],
    },
    window: {
      type: "object",
      required: ["from", "to"],
      additionalProperties: false,
      description: "[from, to) in epoch ms.",
      properties: { from: EPOCH_MS, to: EPOCH_MS },
    },
    epsilonMilli: { type: "integer", minimum: 1, maximum: MAX_EPSILON_MILLI, description: "ε to spend, milli-ε." },
    q: { type: "number", minimum: 0, maximum: 1, description: "For `quantile`." },
    bins: { type: "integer", minimum: 1, maximum: 100, description: "For `histogram`." },
  },
} as const;

export const COHORT_BODY_SCHEMA = {
  type: "object",
  required: ["request", "params", "signature"],
  additionalProperties: false,
  properties: {
    request: {
      type: "object",
      description: "The EIP-712 `CohortQuery` the study's sponsor signed (src/chain/typed-data.ts).",
      required: ["operator", "origin", "studyId", "atBlock", "issuedAt", "nonce", "paramsHash"],
      additionalProperties: false,
      properties: {
        operator: { type: "string", pattern: ADDRESS, description: "The audience: the gateway operator's address." },
        origin: { type: "string", minLength: 1, maxLength: 512, description: "The audience: the gateway's origin." },
        studyId: { type: "string", pattern: DECIMAL, description: "The study's id (decimal)." },
        atBlock: {
          type: "integer",
          minimum: 0,
          maximum: Number.MAX_SAFE_INTEGER,
          description: "The block the cohort is taken at (0: the gateway's head).",
        },
        issuedAt: { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: "Unix seconds." },
        nonce: { type: "string", pattern: BYTES32 },
        paramsHash: { type: "string", pattern: BYTES32, description: "keccak256 of the canonical JSON of params." },
      },
    },
    params: COHORT_PARAMS_SCHEMA,
    signature: { type: "string", pattern: SIGNATURE },
    sponsor: { type: "string", pattern: ADDRESS, description: "The signer; a signature by anyone else is a 401." },
  },
} as const;

export const COHORT_RESPONSE_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: [
    "studyId",
    "sponsor",
    "atBlock",
    "aggregate",
    "category",
    "noiseScale",
    "epsilonSpentMilli",
    "epsilonRemainingMilli",
    "contributors",
    "contributorsRoot",
    "setAside",
    "queryIndex",
    "transactionHash",
    "recordedInBlock",
    "requestHash",
  ],
  properties: {
    studyId: { type: "string" },
    sponsor: { type: "string", description: "The signer, checksummed: the study's sponsor." },
    atBlock: { type: "integer", description: "The block the cohort was taken at." },
    aggregate: { type: "string", enum: AGGREGATES },
    category: { type: "integer", description: "The DataCategory bit aggregated." },
    value: { type: "number", description: "The noisy count, mean, proportion or quantile (not for a histogram)." },
    bins: {
      type: "array",
      description: "For a histogram: noisy counts of equal bins over the bounds.",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["from", "to", "count"],
        properties: { from: { type: "number" }, to: { type: "number" }, count: { type: "integer" } },
      },
    },
    noiseScale: { type: "number", description: "Laplace scale of the noise added (0 for a quantile)." },
    epsilonSpentMilli: { type: "integer" },
    epsilonRemainingMilli: { type: "integer", description: "What the study has left after this answer." },
    contributors: { type: "integer", description: "How many twins contributed (at least the study's k)." },
    contributorsRoot: { type: "string", description: "Merkle root of the contributors' (twin id, state root)." },
    setAside: { type: "integer", description: "Readings left out because their device is flagged." },
    queryIndex: { type: "string", description: "The answer's number in the study (BudgetSpent)." },
    transactionHash: { type: "string", description: "The `spendBudget` transaction." },
    recordedInBlock: { type: "integer" },
    requestHash: { type: "string", description: "The EIP-712 digest; each contributor's access-log entry has it." },
  },
} as const;

const ENROLMENT_EVENT_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["blockNumber", "at", "transactionHash", "by"],
  properties: {
    blockNumber: { type: "integer" },
    at: { type: "integer", description: "The block's time, epoch ms." },
    transactionHash: { type: "string" },
    by: { type: "string", description: "The twin's owner or delegate who sent it." },
  },
} as const;

/** The access log's `studies`: the twin's study enrolments (src/service/enrolments.ts). */
export const STUDY_ENROLMENTS_SCHEMA = {
  type: "array",
  description:
    "The studies the twin was ever enrolled in (StudyRegistry events at the head), by study id; absent when the " +
    "gateway serves no studies. Contributions to answers are entries with queryType `cohort-<aggregate>:study-<id>`.",
  items: {
    type: "object",
    additionalProperties: false,
    required: ["studyId", "sponsor", "purpose", "categories", "aggregates", "status", "enrolled", "withdrawn"],
    properties: {
      studyId: { type: "string" },
      sponsor: { type: "string" },
      purpose: { type: "integer" },
      categories: { type: "integer", description: "DataCategory bits the study may aggregate." },
      aggregates: { type: "integer", description: "Aggregate bits: count 1, mean 2, quantile 4, histogram 8." },
      status: { type: "string", enum: ["none", "proposed", "approved", "rejected", "closed"] },
      enrolled: ENROLMENT_EVENT_SCHEMA,
      withdrawn: { anyOf: [ENROLMENT_EVENT_SCHEMA, { type: "null" }] },
    },
  },
} as const;
