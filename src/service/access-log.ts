import { SimpleMerkleTree, StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { AbiCoder, keccak256 } from "ethers";
import { LRUCache } from "lru-cache";
import { TwinLedgerError } from "../errors";
import { prepareLeaf } from "./access-log-leaf";
import {
  PostgresAccessLogStore,
  SqliteAccessLogStore,
  type AccessLogAnchorRecord,
  type AccessLogAppend,
  type AccessLogEntry,
  type AccessLogInput,
  type AccessLogStore,
  type RefusalCount,
} from "../store/sql";

export type { AccessLogAnchorRecord, AccessLogEntry, AccessLogInput, AccessLogStore, RefusalCount };

/**
 * The gateway's append-only access log, its nonce memory and its on-chain anchors, in a store (src/store/sql): one
 * SQLite file (WAL), the default, or a PostgreSQL database shared by the replicas of one operator's gateway.
 *
 * - Every access the gateway authenticated (a valid signature), allowed or refused, is one entry: index, time,
 *   twin, reader, query type, category, purpose, decision (`allowed` or the refusal code) and the request's
 *   EIP-712 digest. Never the answer, never the params (only their hash, inside the digest).
 * - Entries are never deleted, and never updated except once, by `eraseTwin` (database triggers refuse anything else).
 * - Each entry keeps its leaf hash, so the anchored trees (and every proof) are rebuilt from the leaf hashes alone.
 *   When a twin is erased, `eraseTwin` reduces its entries to what the audit needs: index, time, decision, status
 *   and leaf hash stay (every anchored root still verifies, the gateway-wide counts per decision and time still add
 *   up); the twin id, reader, query type, category, purpose and request digest are overwritten, with
 *   `secure_delete` on and the WAL checkpointed and truncated, so that they are not left in free pages or the WAL.
 * - Refusals that show no standing of the signer on the twin (a stranger's `no-consent`, `blocked`, an unknown or
 *   erased twin, a stale or replayed request, a refused log read) are not entries: `countRefusal` adds one to a
 *   counter per period and decision, with no twin and no reader (see src/service/rate-limits.ts).
 * - SQLite: the file is created 0600 (SQLite gives its -wal and -shm files the database file's mode) in a folder
 *   that must be 0700 (created so when missing; an existing folder open to others is refused): give the log its own
 *   folder.
 * - The nonces a reader used are kept in the store until their query would be expired anyway, each claimed by one
 *   atomic insert (`claimNonce`): a restart does not reopen the replay window, and of several replicas sharing the
 *   store exactly one accepts a (reader, nonce) pair.
 * - `anchor()` builds an OpenZeppelin StandardMerkleTree over the entries not yet anchored (leaf encoding
 *   `ACCESS_LOG_LEAF_ENCODING`) and hands its root to the caller's on-chain writer
 *   (`TwinUpdateLog.anchorAccessLog(root, fromIndex, toIndex)`); `entriesOf` returns each entry with its proof.
 */

/** The leaf of one entry: `[index, timeMs, twinId, reader, queryType, category, purpose, decision, requestHash]`. */
export const ACCESS_LOG_LEAF_ENCODING = [
  "uint64",
  "uint64",
  "bytes32",
  "address",
  "string",
  "uint32",
  "uint16",
  "string",
  "bytes32",
] as const;

export type AccessLogLeaf = [
  index: string,
  timeMs: string,
  twinId: string,
  reader: string,
  queryType: string,
  category: string,
  purpose: string,
  decision: string,
  requestHash: string,
];

/** An entry with the proof of its leaf under the anchored root that covers it (null while not yet anchored). */
export interface ProvenAccessLogEntry {
  readonly entry: AccessLogEntry;
  readonly leaf: AccessLogLeaf;
  readonly anchor: AccessLogAnchorRecord | null;
  readonly proof: readonly string[] | null;
}

/** Writes a root on chain; resolves once mined. */
export type AccessLogAnchorWriter = (
  root: string,
  fromIndex: number,
  toIndex: number,
) => Promise<{ readonly transactionHash: string; readonly blockNumber: number }>;

export interface AccessLogOptions {
  /** Length of the periods of the refusal counters, ms. Default one hour. */
  readonly refusalPeriodMs?: number;
  /** A PostgreSQL URL: the log lives there (shared by replicas) instead of the SQLite file. */
  readonly databaseUrl?: string;
  /** PostgreSQL connections at most (default 10). */
  readonly maxConnections?: number;
}

/** A page of a twin's entries: those after `cursor` (an entry index), at most `limit`. */
export interface AccessLogPage {
  readonly entries: ProvenAccessLogEntry[];
  /** The anchors covering the entries of the page (none of the others). */
  readonly anchors: AccessLogAnchorRecord[];
  /** The cursor of the next page (the last index of this one), null when this page is the last. */
  readonly nextCursor: number | null;
}

/** A nonce claim: the pair is the reader's until `expiresAt` (unix seconds). */
export interface NonceUse {
  readonly reader: string;
  readonly nonce: string;
  readonly expiresAt: number;
}

export const DEFAULT_REFUSAL_PERIOD_MS = 3_600_000;
export const DEFAULT_ACCESS_LOG_PAGE = 100;
export const MAX_ACCESS_LOG_PAGE = 500;

/** Appends written in one transaction at most (PostgreSQL takes 65,535 parameters a statement, 11 an entry). */
const MAX_APPEND_GROUP = 256;

interface PendingAppend extends AccessLogAppend {
  resolve(index: number): void;
  reject(error: unknown): void;
}

/** Trees of recently asked anchors, by root; rebuilt from the stored leaf hashes when evicted. */
const TREE_CACHE_SIZE = 16;
/** Delete expired nonces from the store after this many claims. */
const NONCE_SWEEP_EVERY = 4096;

export class AccessLog {
  readonly #store: AccessLogStore;
  readonly #refusalPeriodMs: number;
  readonly #trees = new LRUCache<string, SimpleMerkleTree>({ max: TREE_CACHE_SIZE });
  /** The anchors known so far, oldest first (other replicas may add more: see `#refreshAnchors`). */
  #anchors: AccessLogAnchorRecord[] = [];
  #claims = 0;
  /** Appends waiting for the end of this event-loop turn (see `append`). */
  #pending: PendingAppend[] = [];
  /** Groups of appends being written. */
  readonly #writing = new Set<Promise<void>>();
  #anchoring: Promise<unknown> = Promise.resolve();
  #closed = false;

  /**
   * Opens (or creates) the log: in the SQLite file at `target` (a path, or `:memory:`), in PostgreSQL when
   * `options.databaseUrl` is set, or in the given store. A SQLite file is created 0600 and a missing folder 0700; an
   * existing folder open to group or others is refused (ACCESS_LOG_FOLDER_OPEN). A SQLite log of the first schema
   * gets its leaf hashes on open. PostgreSQL is migrated on the first call (`ready()`).
   */
  constructor(target: string | AccessLogStore, options: AccessLogOptions = {}) {
    this.#refusalPeriodMs = options.refusalPeriodMs ?? DEFAULT_REFUSAL_PERIOD_MS;
    if (!Number.isSafeInteger(this.#refusalPeriodMs) || this.#refusalPeriodMs <= 0) {
      throw new TwinLedgerError("ACCESS_LOG_OPTIONS", "refusalPeriodMs must be a positive integer");
    }
    if (typeof target !== "string") this.#store = target;
    else if (options.databaseUrl !== undefined) {
      this.#store = new PostgresAccessLogStore({ url: options.databaseUrl, maxConnections: options.maxConnections });
    } else {
      this.#store = new SqliteAccessLogStore(target, { legacyLeafHash: (entry) => leafHashOf(leafOf(entry)) });
    }
  }

  /** `sqlite` or `postgres`. */
  get backend(): string {
    return this.#store.backend;
  }

  /** Resolves once the store is migrated and its expired nonces pruned. */
  async ready(): Promise<void> {
    await this.#store.ready();
    await this.#store.pruneNonces(Math.floor(Date.now() / 1000));
  }

  /** Number of entries (of every replica sharing the store). */
  count(): Promise<number> {
    return this.#store.count();
  }

  /** The anchored ranges, oldest first. */
  async anchored(): Promise<readonly AccessLogAnchorRecord[]> {
    await this.#refreshAnchors();
    return this.#anchors;
  }

  /**
   * Claims `nonce` for `reader` until `expiresAt` (unix seconds): null if it is already claimed and not expired at
   * `nowSec`, by this process or any other sharing the store. The claim is stored before it resolves (one atomic
   * insert; SQLite writes the claims of one event-loop turn in one transaction).
   */
  async claimNonce(reader: string, nonce: string, expiresAt: number, nowSec: number): Promise<NonceUse | null> {
    this.#assertOpen();
    if (!(await this.#store.claimNonce(reader, nonce, expiresAt, nowSec))) return null;
    if (++this.#claims % NONCE_SWEEP_EVERY === 0) void this.#store.pruneNonces(nowSec).catch(() => undefined);
    return { reader: reader.toLowerCase(), nonce: nonce.toLowerCase(), expiresAt };
  }

  /**
   * Appends one entry; returns its index. The appends that arrive within one event-loop turn are written together,
   * in the order they arrived, in one transaction of the store (gap-free consecutive indexes, each leaf hashed with
   * its index inside the transaction, so the anchored trees are what they would be one by one); if that transaction
   * fails, every append of the group rejects with its error and none is written.
   */
  append(entry: AccessLogInput): Promise<number> {
    this.#assertOpen();
    // The leaf's encoding is prepared here, outside the store's transaction; only its index is filled in inside.
    const prepared = prepareLeaf(leafOf({ ...entry, index: 0 }));
    const leafHash =
      prepared !== null
        ? (index: number) => prepared.hashAt(index)
        : (index: number) => leafHashOf(leafOf({ ...entry, index }));
    return new Promise<number>((resolve, reject) => {
      this.#pending.push({ entry, leafHashOf: leafHash, resolve, reject });
      if (this.#pending.length === 1) this.#atEndOfTurn(() => this.#flush());
    });
  }

  /** Runs `write` at the end of this turn: in the store's own flush where it has one (one commit for claims and appends). */
  #atEndOfTurn(write: () => void): void {
    if (this.#store.atEndOfTurn !== undefined) this.#store.atEndOfTurn(write);
    else setImmediate(write);
  }

  /** Writes the appends waiting, at most MAX_APPEND_GROUP a transaction, in order. */
  #flush(): void {
    while (this.#pending.length > 0) {
      const group = this.#pending.splice(0, MAX_APPEND_GROUP);
      const written =
        group.length === 1
          ? this.#store.append(group[0].entry, group[0].leafHashOf).then((index) => [index])
          : this.#store.appendMany(group);
      const done = written.then(
        (indexes) => group.forEach((a, k) => a.resolve(indexes[k])),
        (error: unknown) => group.forEach((a) => a.reject(error)),
      );
      this.#writing.add(done);
      void done.finally(() => this.#writing.delete(done));
    }
  }

  /** Entries `from..to` (inclusive). */
  range(fromIndex: number, toIndex: number): Promise<AccessLogEntry[]> {
    return this.#store.range(fromIndex, toIndex);
  }

  /**
   * Anchors the entries not anchored yet: builds their tree, calls `write(root, from, to)` and records the anchor.
   * Calls are serialized, and among replicas sharing a store one anchors at a time (the others resolve null).
   * Resolves with the new anchor, or null when there is nothing new.
   */
  anchor(write: AccessLogAnchorWriter, now: () => number = Date.now): Promise<AccessLogAnchorRecord | null> {
    const run = this.#anchoring.then(async () => {
      this.#assertOpen();
      return this.#store.withAnchorLock(async (): Promise<AccessLogAnchorRecord | null> => {
        await this.#refreshAnchors();
        const last = this.#anchors[this.#anchors.length - 1];
        const fromIndex = last === undefined ? 0 : last.toIndex + 1;
        const toIndex = (await this.#store.count()) - 1;
        if (toIndex < fromIndex) return null;
        const tree = await this.#buildTree(fromIndex, toIndex);
        const { transactionHash, blockNumber } = await write(tree.root, fromIndex, toIndex);
        const record: AccessLogAnchorRecord = {
          root: tree.root,
          fromIndex,
          toIndex,
          transactionHash,
          blockNumber,
          anchoredAt: now(),
        };
        this.#assertOpen();
        await this.#store.insertAnchor(record);
        this.#addAnchors([record]);
        this.#trees.set(tree.root, tree);
        return record;
      });
    });
    this.#anchoring = run.catch(() => undefined);
    return run;
  }

  /**
   * Adds one to the counter of `decision` in the period of `time` (no twin, no reader): a refusal counted in
   * aggregate instead of appended as an entry.
   */
  countRefusal(time: number, decision: string): Promise<void> {
    this.#assertOpen();
    return this.#store.countRefusal(time - (time % this.#refusalPeriodMs), decision);
  }

  /** The refusal counters, oldest period first. */
  refusalCounts(): Promise<RefusalCount[]> {
    return this.#store.refusalCounts();
  }

  /**
   * Reduces an erased twin's entries to what the audit needs: index, time, decision, status and leaf hash stay; the
   * twin id, reader, query type, category, purpose and request digest are overwritten (SQLite: zeroed on disk by
   * `secure_delete`, the WAL checkpointed and truncated; PostgreSQL: see PostgresAccessLogStore). Anchored roots and
   * other twins' proofs still verify (trees are rebuilt from the leaf hashes). Idempotent; returns the number of
   * entries redacted now.
   */
  eraseTwin(twinId: string): Promise<number> {
    this.#assertOpen();
    return this.#store.eraseTwin(twinId);
  }

  /**
   * A page of a twin's entries, oldest first, after `cursor` (an entry index; -1 or absent: from the start), each
   * with its proof to the anchored root covering it, and the anchors of the page only: nothing about other twins'
   * entries beyond what their global indexes imply (see the README).
   */
  async pageOf(twinId: string, options: { cursor?: number; limit?: number } = {}): Promise<AccessLogPage> {
    const limit = Math.min(MAX_ACCESS_LOG_PAGE, Math.max(1, options.limit ?? DEFAULT_ACCESS_LOG_PAGE));
    const rows = await this.#store.ofTwin(twinId, options.cursor ?? -1, limit);
    const last = rows[rows.length - 1];
    const known = this.#anchors[this.#anchors.length - 1];
    if (last !== undefined && (known === undefined || last.index > known.toIndex)) await this.#refreshAnchors();
    const anchors = new Map<string, AccessLogAnchorRecord>();
    const entries: ProvenAccessLogEntry[] = [];
    for (const entry of rows) {
      const anchor = this.#anchorCovering(entry.index);
      if (anchor === null) {
        entries.push({ entry, leaf: leafOf(entry), anchor: null, proof: null });
        continue;
      }
      anchors.set(anchor.root, anchor);
      const tree = await this.#treeOf(anchor);
      entries.push({ entry, leaf: leafOf(entry), anchor, proof: tree.getProof(entry.index - anchor.fromIndex) });
    }
    return {
      entries,
      anchors: [...anchors.values()],
      nextCursor: rows.length === limit && last !== undefined ? last.index : null,
    };
  }

  /** A twin's entries (the first page of `pageOf`, `limit` at most MAX_ACCESS_LOG_PAGE). */
  async entriesOf(twinId: string, options: { cursor?: number; limit?: number } = {}): Promise<ProvenAccessLogEntry[]> {
    return (await this.pageOf(twinId, options)).entries;
  }

  /** Writes the appends waiting, waits for an anchoring in progress and closes the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flush();
    await Promise.all(this.#writing);
    await this.#anchoring;
    this.#closed = true;
    await this.#store.close();
  }

  /** Adds the anchors recorded since the last one known (by this process or another sharing the store). */
  async #refreshAnchors(): Promise<void> {
    const last = this.#anchors[this.#anchors.length - 1];
    this.#addAnchors(await this.#store.anchors(last === undefined ? -1 : last.fromIndex));
  }

  /**
   * Appends the anchors (oldest first) that follow the last one known. Refreshes and an anchoring run concurrently
   * (a reader's refresh is not serialized with `anchor`), so what one of them read may already have been added by
   * another while it waited: such a record is skipped, never listed twice.
   */
  #addAnchors(records: readonly AccessLogAnchorRecord[]): void {
    let known = this.#anchors[this.#anchors.length - 1]?.toIndex ?? -1;
    const added: AccessLogAnchorRecord[] = [];
    for (const record of records) {
      if (record.fromIndex <= known) continue;
      added.push(record);
      known = record.toIndex;
    }
    if (added.length > 0) this.#anchors = [...this.#anchors, ...added];
  }

  #anchorCovering(index: number): AccessLogAnchorRecord | null {
    let lo = 0;
    let hi = this.#anchors.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const anchor = this.#anchors[mid];
      if (index < anchor.fromIndex) hi = mid - 1;
      else if (index > anchor.toIndex) lo = mid + 1;
      else return anchor;
    }
    return null;
  }

  async #treeOf(anchor: AccessLogAnchorRecord): Promise<SimpleMerkleTree> {
    const cached = this.#trees.get(anchor.root);
    if (cached !== undefined) return cached;
    const tree = await this.#buildTree(anchor.fromIndex, anchor.toIndex);
    if (tree.root !== anchor.root) {
      throw new TwinLedgerError("ACCESS_LOG_TAMPERED", `entries ${anchor.fromIndex}..${anchor.toIndex} changed`);
    }
    this.#trees.set(anchor.root, tree);
    return tree;
  }

  /**
   * The tree over the stored leaf hashes, in index order (`sortLeaves: false`), so an entry's proof is
   * `getProof(index - fromIndex)`. A SimpleMerkleTree over StandardMerkleTree leaf hashes has the same nodes, root
   * and proofs as the StandardMerkleTree of the leaves (`verifyAccessLogProof` checks them as such), and needs no
   * field of a redacted entry.
   */
  async #buildTree(fromIndex: number, toIndex: number): Promise<SimpleMerkleTree> {
    const hashes = await this.#store.leafHashes(fromIndex, toIndex);
    if (hashes.length !== toIndex - fromIndex + 1) {
      throw new TwinLedgerError("ACCESS_LOG_TAMPERED", `entries ${fromIndex}..${toIndex} are not all there`);
    }
    return SimpleMerkleTree.of(hashes, { sortLeaves: false });
  }

  #assertOpen(): void {
    if (this.#closed) throw new TwinLedgerError("ACCESS_LOG_CLOSED", "the access log is closed");
  }
}

/** The leaf values of an entry, as the tree (and any verifier) encodes them. */
export function leafOf(entry: AccessLogEntry): AccessLogLeaf {
  return [
    String(entry.index),
    String(entry.time),
    entry.twinId.toLowerCase(),
    entry.reader,
    entry.queryType,
    String(entry.category),
    String(entry.purpose),
    entry.decision,
    entry.requestHash.toLowerCase(),
  ];
}

/** The StandardMerkleTree hash of a leaf: keccak256(keccak256(abi.encode(ACCESS_LOG_LEAF_ENCODING, leaf))). */
export function leafHashOf(leaf: AccessLogLeaf): string {
  const index = Number(leaf[0]);
  const prepared = /^(0|[1-9][0-9]{0,15})$/.test(leaf[0]) && Number.isSafeInteger(index) ? prepareLeaf(leaf) : null;
  return prepared !== null ? prepared.hashAt(index) : abiLeafHashOf(leaf);
}

/** The same hash through ethers' AbiCoder (the reference, and the path of leaves outside the fast path's forms). */
export function abiLeafHashOf(leaf: AccessLogLeaf): string {
  return keccak256(keccak256(ABI.encode([...ACCESS_LOG_LEAF_ENCODING], leaf)));
}

const ABI = AbiCoder.defaultAbiCoder();

/** Whether `proof` proves `leaf` under `root` (what a patient or auditor checks against the on-chain anchor). */
export function verifyAccessLogProof(root: string, leaf: AccessLogLeaf, proof: readonly string[]): boolean {
  return StandardMerkleTree.verify(root, [...ACCESS_LOG_LEAF_ENCODING], leaf, [...proof]);
}
