import type { CohortQueryRequest, GatewayQuery } from "../chain/typed-data";
import type { AggregateName, CohortQuery, HistogramBin } from "../research";
import type { AccessLogAnchorRecord, ProvenAccessLogEntry } from "./access-log";
import type { StudyEnrolment } from "./enrolments";
import type { AnswerProofs, QueryAnswerMap, QueryType } from "./queries";

/** The body of `POST /v1/query`. */
export interface QueryBody {
  readonly query: GatewayQuery;
  /** The query type's params; `query.paramsHash` is keccak256 of their canonical JSON. */
  readonly params: Record<string, unknown>;
  /** The reader's EIP-712 signature over `query` (65 bytes, 0x-hex). */
  readonly signature: string;
  /** The signer's address; when given, a signature by anyone else is refused (401 bad-signature). */
  readonly reader?: string;
}

/** The 200 answer of `POST /v1/query`. */
export interface QueryResponse<Q extends QueryType = QueryType> {
  readonly queryType: Q;
  readonly twinId: string;
  /** The signer, checksummed. */
  readonly reader: string;
  /** The categories answered (for fhir-export: those allowed of the requested mask). */
  readonly category: number;
  readonly purpose: number;
  /** The access-log entry of this access. */
  readonly logIndex: number;
  readonly answer: QueryAnswerMap[Q];
  readonly proofs: AnswerProofs;
}

/** Every non-200 body. `logIndex` is there when the refusal was logged. */
export interface ErrorResponse {
  readonly error: string;
  readonly message: string;
  readonly logIndex?: number;
}

/** The 200 answer of `GET /v1/access-log/:twinId`. */
export interface AccessLogResponse {
  readonly twinId: string;
  /** The entry of this read itself (reads of the log are logged too). */
  readonly logIndex: number;
  /** The anchored ranges covering the entries of this page, and none other. */
  readonly anchors: readonly AccessLogAnchorRecord[];
  /** This twin's entries after the request's `cursor`, oldest first, at most `limit` (default 100, at most 500). */
  readonly entries: readonly ProvenAccessLogEntry[];
  /** The `cursor` of the next page, or null when this page is the last. */
  readonly nextCursor: number | null;
  /**
   * The studies the twin was ever enrolled in, with their withdrawals, by study id; absent when the gateway serves no
   * studies (`GatewayOptions.studies` unset), so that such a gateway's answer is the same as before.
   */
  readonly studies?: readonly StudyEnrolment[];
}

/** The body of `POST /v1/cohort-query`. */
export interface CohortQueryBody {
  readonly request: CohortQueryRequest;
  /** The query; `request.paramsHash` is keccak256 of its canonical JSON. */
  readonly params: CohortQuery;
  /** The sponsor's EIP-712 signature over `request` (65 bytes, 0x-hex). */
  readonly signature: string;
  /** The signer's address; when given, a signature by anyone else is refused (401 bad-signature). */
  readonly sponsor?: string;
}

/** The 200 answer of `POST /v1/cohort-query`. */
export interface CohortQueryResponse {
  readonly studyId: string;
  /** The signer, checksummed: the study's sponsor. */
  readonly sponsor: string;
  /** The block the cohort was taken at. */
  readonly atBlock: number;
  readonly aggregate: AggregateName;
  /** The DataCategory bit aggregated. */
  readonly category: number;
  /** The noisy count, mean, proportion or quantile (absent for a histogram). */
  readonly value?: number;
  readonly bins?: readonly HistogramBin[];
  /** Laplace scale of the noise added (for a mean, of each half; 0 for a quantile). */
  readonly noiseScale: number;
  readonly epsilonSpentMilli: number;
  /** What the study has left after this answer, milli-ε. */
  readonly epsilonRemainingMilli: number;
  /** How many twins contributed. */
  readonly contributors: number;
  /** Merkle root of the contributors' (twin id, state root at `atBlock`) leaves, as recorded on chain. */
  readonly contributorsRoot: string;
  /** Readings left out because their device is flagged. */
  readonly setAside: number;
  /** The answer's number in the study (`BudgetSpent.queryIndex`), decimal. */
  readonly queryIndex: string;
  /** The `spendBudget` transaction and its block. */
  readonly transactionHash: string;
  readonly recordedInBlock: number;
  /** The request's EIP-712 digest: each contributor's access-log entry carries it. */
  readonly requestHash: string;
}
