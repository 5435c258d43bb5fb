import { hexlify, randomBytes, type Signer, type SigningKey } from "ethers";
import type { TwinUpdateLog } from "../../typechain-types";
import {
  ACCESS_LOG_REQUEST_TYPES,
  COHORT_QUERY_TYPES,
  domainOf,
  GATEWAY_DOMAIN_NAME,
  QUERY_TYPES,
  TypedDataHasher,
  type AccessLogRequest,
  type CohortQueryRequest,
  type GatewayQuery,
} from "../chain/typed-data";
import {
  anchoredBatch,
  verifyReadingAnchor,
  verifyRecordAnchor,
  verifyStateAnchor,
  type AnchorVerification,
  type VerifiedAnchors,
} from "../pipeline/verify";
import { signDigest } from "../crypto/digest-signing";
import { canonicalHash } from "../twin/canonical";
import { leafOf, verifyAccessLogProof } from "./access-log";
import { audienceOf, type GatewayAudience } from "./audience";
import { QUERY_TYPE_SPECS, type QueryParamsMap, type QueryType } from "./queries";
import type { CohortQuery } from "../research";
import type {
  AccessLogResponse,
  CohortQueryBody,
  CohortQueryResponse,
  ErrorResponse,
  QueryBody,
  QueryResponse,
} from "./types";

/**
 * A typed client of the gateway: builds and signs queries (EIP-712, the reader's key) and access-log requests, and
 * checks answers against the chain (`verifyAnswer`, on top of src/pipeline/verify.ts).
 */
export interface GatewayClientOptions {
  /** e.g. `http://127.0.0.1:8545`, without a trailing path. */
  readonly baseUrl: string;
  readonly signer: Signer;
  readonly chainId: bigint | number;
  /** The ConsentPolicy address: the gateway domain's verifyingContract. */
  readonly consentAddress: string;
  /**
   * The gateway operator's address (the custodian the reader means to ask), signed into every request as its
   * audience: the gateway of any other operator refuses it (401 wrong-audience).
   */
  readonly operator: string;
  /** The gateway's origin as signed; default the origin of `baseUrl`. Set it when `baseUrl` is not the public one. */
  readonly origin?: string;
  /** Clock for issuedAt, epoch ms; default Date.now. */
  readonly clock?: () => number;
}

export interface QueryOptions {
  /** Purpose bits (one, usually). */
  readonly purpose: number;
  /** The signed category mask; default the query type's default (see QUERY_TYPE_SPECS). */
  readonly category?: number;
  /** Fixed nonce (tests); default 32 random bytes. */
  readonly nonce?: string;
  /** Fixed issuedAt, unix seconds (tests); default now. */
  readonly issuedAt?: number;
}

export type GatewayResult<T> =
  | { readonly ok: true; readonly status: 200; readonly body: T }
  | { readonly ok: false; readonly status: number; readonly body: ErrorResponse };

export class GatewayClient {
  private readonly baseUrl: string;
  private readonly clock: () => number;
  private readonly domain: ReturnType<typeof domainOf>;
  private readonly queries: TypedDataHasher;
  private reader: Promise<string> | null = null;
  /** The signed audience: the operator's address and the gateway's origin. */
  readonly audience: GatewayAudience;

  constructor(private readonly options: GatewayClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.clock = options.clock ?? Date.now;
    this.domain = domainOf(GATEWAY_DOMAIN_NAME, options.chainId, options.consentAddress);
    this.queries = new TypedDataHasher(this.domain, QUERY_TYPES);
    this.audience = audienceOf(options.operator, options.origin ?? this.baseUrl);
  }

  /** The signer's address, asked once. */
  private address(): Promise<string> {
    this.reader ??= this.options.signer.getAddress();
    return this.reader;
  }

  /**
   * The EIP-712 signature of a query. A local key (an ethers Wallet: it has a `signingKey`) signs the digest hashed
   * with the encoder and domain separator built once, which is what its `signTypedData` does after building them
   * each time, through libsecp256k1 where it loads (`signDigest`: the same bytes, an eighth of the time); any other
   * signer (a browser wallet, a remote signer) is asked through `signTypedData`.
   */
  private signQueryValue(query: GatewayQuery): Promise<string> {
    const { signer } = this.options;
    const signingKey = (signer as { readonly signingKey?: SigningKey }).signingKey;
    if (signingKey !== undefined && typeof signingKey.sign === "function") {
      return Promise.resolve(signDigest(signingKey, this.queries.digest(query)));
    }
    return signer.signTypedData(this.domain, QUERY_TYPES, query);
  }

  /** Builds and signs the body of `POST /v1/query` (exposed for tests and tools that send it themselves). */
  async signQuery<Q extends QueryType>(
    twinId: string,
    queryType: Q,
    params: QueryParamsMap[Q],
    options: QueryOptions,
  ): Promise<QueryBody> {
    const query: GatewayQuery = {
      ...this.audience,
      twinId,
      queryType,
      category: options.category ?? QUERY_TYPE_SPECS[queryType].defaultCategory,
      purpose: options.purpose,
      issuedAt: options.issuedAt ?? Math.floor(this.clock() / 1000),
      nonce: options.nonce ?? hexlify(randomBytes(32)),
      paramsHash: canonicalHash(params),
    };
    const signature = await this.signQueryValue(query);
    return {
      query,
      params: params as unknown as Record<string, unknown>,
      signature,
      reader: await this.address(),
    };
  }

  /** Signs and sends a query. */
  async query<Q extends QueryType>(
    twinId: string,
    queryType: Q,
    params: QueryParamsMap[Q],
    options: QueryOptions,
  ): Promise<GatewayResult<QueryResponse<Q>>> {
    return this.post<QueryResponse<Q>>(await this.signQuery(twinId, queryType, params, options));
  }

  /** Sends a body as is (a signed query, or anything, for tests). */
  async post<T = QueryResponse>(body: unknown): Promise<GatewayResult<T>> {
    const response = await fetch(`${this.baseUrl}/v1/query`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return result<T>(response);
  }

  /**
   * Builds and signs the body of `POST /v1/cohort-query` (the signer is the study's sponsor): `atBlock` 0 (default)
   * asks for the gateway's head.
   */
  async signCohortQuery(
    studyId: bigint | number | string,
    params: CohortQuery,
    options: { atBlock?: number; nonce?: string; issuedAt?: number } = {},
  ): Promise<CohortQueryBody> {
    const request: CohortQueryRequest = {
      ...this.audience,
      studyId: BigInt(studyId).toString(),
      atBlock: options.atBlock ?? 0,
      issuedAt: options.issuedAt ?? Math.floor(this.clock() / 1000),
      nonce: options.nonce ?? hexlify(randomBytes(32)),
      paramsHash: canonicalHash(params),
    };
    const signature = await this.options.signer.signTypedData(this.domain, COHORT_QUERY_TYPES, request);
    return { request, params, signature, sponsor: await this.address() };
  }

  /** Signs and sends a cohort query, or sends a body as is (a signed one, or anything, for tests). */
  async cohortQuery(body: CohortQueryBody | string): Promise<GatewayResult<CohortQueryResponse>> {
    const response = await fetch(`${this.baseUrl}/v1/cohort-query`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    return result<CohortQueryResponse>(response);
  }

  /** The twin's access log, for its owner or delegate, or an auditor. */
  async accessLog(
    twinId: string,
    options: { cursor?: number; limit?: number; nonce?: string; issuedAt?: number } = {},
  ): Promise<GatewayResult<AccessLogResponse>> {
    const value: AccessLogRequest = {
      ...this.audience,
      twinId,
      issuedAt: options.issuedAt ?? Math.floor(this.clock() / 1000),
      nonce: options.nonce ?? hexlify(randomBytes(32)),
    };
    const signature = await this.options.signer.signTypedData(this.domain, ACCESS_LOG_REQUEST_TYPES, value);
    const search = new URLSearchParams({
      issuedAt: String(value.issuedAt),
      nonce: value.nonce,
      signature,
      reader: await this.address(),
    });
    if (options.cursor !== undefined) search.set("cursor", String(options.cursor));
    if (options.limit !== undefined) search.set("limit", String(options.limit));
    const response = await fetch(`${this.baseUrl}/v1/access-log/${twinId}?${search.toString()}`);
    return result<AccessLogResponse>(response);
  }
}

async function result<T>(response: Response): Promise<GatewayResult<T>> {
  const body = (await response.json()) as unknown;
  if (response.status === 200) return { ok: true, status: 200, body: body as T };
  return { ok: false, status: response.status, body: body as ErrorResponse };
}

// ---------------------------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------------------------

export interface AnswerVerification {
  readonly valid: boolean;
  readonly checked: {
    readonly state: boolean;
    readonly records: number;
    readonly readings: number;
    readonly batches: number;
  };
  /** What failed, by kind and position (no health data). */
  readonly failures: readonly string[];
}

/**
 * Checks an answer's proofs against the chain (src/pipeline/verify.ts does each anchor):
 * - the StateAnchor: the `TwinStateCommitted` event of its chain version and epoch with those roots, and (when the
 *   answer is a summary, which carries them) that the summary's version and state root are the anchored ones;
 * - each record's anchor: for a leaf of a record batch (kind "records"), the Merkle proof of
 *   `(category, contentHash, keccak256(cid))` and the batch anchored by its source at its sequence with the category
 *   in its mask (`recordBatchOf`: what `verifyRecord` checks); for a v1 update (kind "update"), its `UpdateRecorded`
 *   event (content hash, content id, block, transaction);
 * - each reading's BatchAnchor: the salted commitment recomputed from the reading, the Merkle proof, and
 *   `verifyReading(twinId, source, root, ...)` on chain; a reading taken from an EMR record: that record's anchor
 *   (the reading itself is inside the record's encrypted envelope, which a reader holding a wrapped key can fetch
 *   and compare);
 * - each aggregated batch: anchored for the twin by its source (`batchOf`). Counts are not on chain in v2: how many
 *   readings a batch holds is in its blob, not checkable from the chain alone.
 *
 * With `verified`, the facts checked are kept, and a later answer citing the same anchors is checked off chain
 * (a reading or a record: its batch as anchored and the Merkle proof, exactly as `verifyReading` and `verifyRecord`
 * do on chain).
 */
export async function verifyAnswer(
  answer: QueryResponse,
  options: {
    readonly updateLog: TwinUpdateLog;
    readonly fromBlock?: number;
    /** Facts checked for earlier answers (see VerifiedAnchors): each anchor is then asked of the chain once. */
    readonly verified?: VerifiedAnchors;
  },
): Promise<AnswerVerification> {
  const failures: string[] = [];
  const access = {
    updateLog: options.updateLog,
    twinId: answer.twinId,
    fromBlock: options.fromBlock ?? 0,
    ...(options.verified !== undefined && { verified: options.verified }),
  };
  const note = (what: string, verdict: AnchorVerification): void => {
    if (!verdict.valid) failures.push(`${what}: ${verdict.reason}`);
  };
  const { proofs } = answer;
  if (proofs.state !== null) {
    const version =
      answer.queryType === "summary"
        ? (() => {
            const s = answer.answer as QueryResponse<"summary">["answer"];
            return { version: s.version, stateRoot: s.stateRoot, sourcesRoot: proofs.state.sourcesRoot };
          })()
        : undefined;
    note("state", await verifyStateAnchor(proofs.state, { ...access, ...(version !== undefined && { version }) }));
  }
  const records = proofs.records ?? [];
  for (const [i, proof] of records.entries()) note(`records[${i}]`, await verifyRecordAnchor(proof.anchor, access));
  const readings = proofs.readings ?? [];
  for (const [i, proof] of readings.entries()) {
    if (proof.anchor !== null) note(`readings[${i}]`, await verifyReadingAnchor(proof.reading, proof.anchor, access));
    else if (proof.recordAnchor !== undefined) {
      note(`readings[${i}].record`, await verifyRecordAnchor(proof.recordAnchor, access));
    } else failures.push(`readings[${i}]: UNANCHORED`);
  }
  const batches = proofs.batches ?? [];
  for (const [i, batch] of batches.entries()) {
    const onChain = await anchoredBatch(batch.source, batch.merkleRoot, access);
    if (onChain === null) failures.push(`batches[${i}]: NOT_ANCHORED`);
  }
  return {
    valid: failures.length === 0,
    checked: {
      state: proofs.state !== null,
      records: records.length,
      readings: readings.length,
      batches: batches.length,
    },
    failures,
  };
}

/**
 * Checks an access-log answer: each anchored entry's proof leads to its root, and the root is anchored on chain by
 * `operator` (the gateway's custodian account) over the range that covers the entry. Returns the failures.
 */
export async function verifyAccessLog(
  log: AccessLogResponse,
  options: { readonly updateLog: TwinUpdateLog; readonly operator: string },
): Promise<string[]> {
  const failures: string[] = [];
  const roots = new Map<string, { fromIndex: bigint; toIndex: bigint; anchoredAt: bigint }>();
  for (const item of log.entries) {
    if (item.anchor === null || item.proof === null) continue;
    if (JSON.stringify(leafOf(item.entry)) !== JSON.stringify(item.leaf)) {
      failures.push(`entry ${item.entry.index}: LEAF_MISMATCH`);
      continue;
    }
    if (!verifyAccessLogProof(item.anchor.root, item.leaf, item.proof)) {
      failures.push(`entry ${item.entry.index}: PROOF_INVALID`);
      continue;
    }
    let onChain = roots.get(item.anchor.root);
    if (onChain === undefined) {
      onChain = await options.updateLog.accessLogAnchorOf(options.operator, item.anchor.root);
      roots.set(item.anchor.root, onChain);
    }
    const index = BigInt(item.entry.index);
    if (onChain.anchoredAt === 0n) failures.push(`entry ${item.entry.index}: NOT_ANCHORED`);
    else if (index < onChain.fromIndex || index > onChain.toIndex)
      failures.push(`entry ${item.entry.index}: OUT_OF_RANGE`);
  }
  return failures;
}
