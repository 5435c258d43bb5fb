import { LRUCache } from "lru-cache";
import type { TwinDataReader } from "../pipeline/reader";
import type { QueryType } from "./queries";
import type { QueryResponse } from "./types";

/** What the gateway keeps of the answers it built (the `answerCache` option). */
export interface AnswerCacheOptions {
  /**
   * Characters of answers' JSON kept at most, least recently used dropped first; default 32 Mi (about 2,600
   * `latest-vitals` answers of a day of one-minute readings, 12.5 KB each).
   */
  readonly maxChars?: number;
  /** The longest an answer is kept, ms, asked or not (health data leaves memory when no one asks); default 60 s. */
  readonly ttlMs?: number;
}

export const DEFAULT_ANSWER_CACHE_CHARS = 32 * 1024 * 1024;
export const DEFAULT_ANSWER_CACHE_TTL_MS = 60_000;

/** The part of a query's answer that another reader's query would get the same: everything but who asked. */
export interface AnswerKey {
  readonly twinId: string;
  readonly queryType: QueryType;
  /** keccak256 of the params' canonical JSON (the signed `paramsHash`, checked against the params). */
  readonly paramsHash: string;
  /** The signed category mask. */
  readonly category: number;
  /** The categories the consent allows of it (what the answer is built from). */
  readonly allowed: number;
}

interface KeptAnswer {
  readonly revision: string;
  readonly json: string;
}

/**
 * The answers the gateway built, as JSON, reused for the same question about a twin whose data did not change: an
 * answer depends only on the twin's data (its records, readings, anchors and committed versions, which the pipeline's
 * revision token follows: `TwinDataReader.revision`), the query type, its params and the categories asked and
 * allowed; never on the reader, the purpose or the time. The consent, the audience, freshness and replay are checked
 * for every query before this is asked, and the access log records every answer. A reader that gives no revision has
 * nothing kept.
 *
 * @dev The revision is read before the answer is built and again after: an answer is kept only when they are the
 * same (no write of the twin started in between), and a kept answer is used only while the revision is still the one
 * it was built at. Answers are health data: they stay in memory only (bounded, and for `ttlMs` at most), never logged.
 */
export class AnswerCache {
  readonly #kept: LRUCache<string, KeptAnswer>;

  constructor(options: AnswerCacheOptions = {}) {
    this.#kept = new LRUCache<string, KeptAnswer>({
      maxSize: options.maxChars ?? DEFAULT_ANSWER_CACHE_CHARS,
      sizeCalculation: (kept) => Math.max(1, kept.json.length),
      ttl: options.ttlMs ?? DEFAULT_ANSWER_CACHE_TTL_MS,
      ttlAutopurge: true,
    });
  }

  /** Answers kept now. */
  get size(): number {
    return this.#kept.size;
  }

  /**
   * The answer's JSON (`"answer":…,"proofs":…}`, the tail of {@link queryResponseJson}): the one kept for `key` while
   * the twin's revision is unchanged, else `build`'s (kept when no write of the twin started while it ran).
   */
  async answerJson(data: TwinDataReader, key: AnswerKey, build: () => Promise<string>): Promise<string> {
    const revision = data.revision?.(key.twinId) ?? null;
    if (revision === null) return build();
    const name = keyOf(key);
    const kept = this.#kept.get(name);
    if (kept !== undefined) {
      if (kept.revision === revision) return kept.json;
      this.#kept.delete(name);
    }
    const json = await build();
    if (data.revision?.(key.twinId) === revision) this.#kept.set(name, { revision, json });
    return json;
  }

  /** Drops every answer kept. */
  clear(): void {
    this.#kept.clear();
  }
}

function keyOf(key: AnswerKey): string {
  return `${key.twinId.toLowerCase()} ${key.queryType} ${key.paramsHash.toLowerCase()} ${key.category} ${key.allowed}`;
}

/** The tail of a query response's JSON: its answer and proofs, and the closing brace. */
export function answerJsonOf(built: Pick<QueryResponse, "answer" | "proofs">): string {
  return `"answer":${JSON.stringify(built.answer)},"proofs":${JSON.stringify(built.proofs)}}`;
}

/**
 * A query response's JSON (QUERY_RESPONSE_SCHEMA, in its order): the fields of this access, then the answer's JSON
 * from {@link answerJsonOf}, kept or just built.
 */
export function queryResponseJson(head: Omit<QueryResponse, "answer" | "proofs">, answerJson: string): string {
  const { queryType, twinId, reader, category, purpose, logIndex } = head;
  return (
    `{"queryType":${JSON.stringify(queryType)},"twinId":${JSON.stringify(twinId)},"reader":${JSON.stringify(reader)},` +
    `"category":${category},"purpose":${purpose},"logIndex":${logIndex},${answerJson}`
  );
}
