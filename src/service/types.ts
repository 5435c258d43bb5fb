import type { GatewayQuery } from "../chain/typed-data";
import type { AccessLogAnchorRecord, ProvenAccessLogEntry } from "./access-log";
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
}
