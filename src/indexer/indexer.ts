import { ChainReader, reorg, type BlockRef, type IndexerProvider } from "./chain";
import { addressArg } from "./codec";
import { applyLog, subscribersOf, type IndexerAddresses, type IndexerExtension, type Subscriber } from "./dispatch";
import { IndexerError } from "./errors";
import { resetAll, rollBackTo } from "./journal";
import { IndexerQueries } from "./queries";
import { findCommonAncestor } from "./reorg";
import { CORE_COMPONENT } from "./schema";
import { assertReadable, openStore, prepareStore, type StoreLocation } from "./store/open";
import type { IndexerStore, SqlRunner } from "./store/store";
import type { Checkpoint, ReorgView, SyncResult } from "./types";

export interface IndexerOptions extends StoreLocation {
  readonly provider: IndexerProvider;
  readonly addresses: IndexerAddresses;
  /**
   * Blocks below the head before a block is indexed: only `head - confirmations` and older are read. Default 2;
   * 0 for tests on an automining Hardhat network. A reorg of any depth is rolled back (see `Indexer`); a deeper
   * `confirmations` only makes them rarer.
   */
  readonly confirmations?: number;
  /** The largest block range of one `getLogs` call and one transaction. Default 2,000. */
  readonly batchBlocks?: number;
  /** The first block to read (the deployment block), used only when the database has no checkpoint yet. Default 0. */
  readonly startBlock?: number;
  /** Extra followed contracts or events; see `IndexerExtension`. */
  readonly extensions?: readonly IndexerExtension[];
  /** Parallel `getBlock` calls while reading a range (for block hashes and timestamps). Default 8. */
  readonly blockConcurrency?: number;
  /**
   * How many blocks below the checkpoint the reorg journal reaches back. Default: all the way (a reorg of any depth
   * is rolled back to its common ancestor). With a bound, the journal of older blocks is dropped as the index moves
   * on, and a reorg deeper than the bound rebuilds the index from `startBlock` instead (still correct, slower).
   */
  readonly reorgJournalBlocks?: number;
  /** Called by the polling loop with each failed sync's error (the loop keeps going). */
  readonly onError?: (error: unknown) => void;
}

export const DEFAULT_CONFIRMATIONS = 2;
export const DEFAULT_BATCH_BLOCKS = 2_000;
export const DEFAULT_POLL_INTERVAL_MS = 2_000;

const WRITE_CHECKPOINT = `
  INSERT INTO checkpoint (id, block_number, block_hash, block_timestamp, updated_at)
  VALUES (1, @block_number, @block_hash, @block_timestamp, @updated_at)
  ON CONFLICT (id) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash,
    block_timestamp = excluded.block_timestamp, updated_at = excluded.updated_at`;
const WRITE_BLOCK = `
  INSERT INTO blocks (block_number, block_hash, block_timestamp) VALUES (?, ?, ?)
  ON CONFLICT (block_number) DO UPDATE SET block_hash = excluded.block_hash, block_timestamp = excluded.block_timestamp`;

interface Settings {
  readonly confirmations: number;
  readonly batchBlocks: number;
  readonly startBlock: number;
  readonly blockConcurrency: number;
  readonly reorgJournalBlocks: number | null;
  readonly addresses: IndexerAddresses;
  readonly extensions: readonly IndexerExtension[];
}

/**
 * Follows TwinRegistry, ConsentPolicy and TwinUpdateLog events into SQLite (the embedded default) or PostgreSQL.
 *
 * **Exactly once.** `syncOnce()` reads from the checkpoint + 1 up to `head - confirmations`, in ranges of at
 * most `batchBlocks`. Each range's rows, the hashes of its blocks and the new checkpoint (block number, hash and
 * time of the range's last block) are written in one transaction: a crash before the commit leaves none of them,
 * so the range is read again on restart; a crash after leaves all, so it is not. As a second guard every log is
 * first inserted into `events` keyed by `(block_number, log_index)`, and a log already there is skipped whole.
 *
 * **Reorgs, of any depth (issue 12).** Every sync first compares the checkpoint's hash with the chain's block at
 * that height. When they differ, the indexer finds the common ancestor (the newest indexed block whose stored hash
 * the chain still has: `findCommonAncestor`), and in one transaction undoes every block above it (the journal of
 * overwritten rows and the rows the blocks created: journal.ts) and moves the checkpoint back to it; then it
 * indexes the new chain from there, in the same sync. The result is the index a fresh database would build from
 * the new chain. A chain that moves while a range is read (the range's last block, the previous checkpoint or a
 * log's block changed) throws `INDEXER_REORG` and commits nothing; the next sync repairs it (the polling loop goes
 * on). A database migrated from core schema 3 has no journal for what it indexed before, and `reorgJournalBlocks`
 * bounds how far back the journal reaches: a reorg below either point rebuilds the index from the start block.
 *
 * **Identity.** The database remembers the chain id and the three addresses; opening it for others throws
 * `INDEXER_CONFIG_MISMATCH`. A SQLite database of the v1 contracts (core schema 1 or 2) is refused with
 * `INDEXER_REINDEX_REQUIRED`, untouched: re-index the v2 deployment into a new file (see `assertFollowsV2Contracts`).
 *
 * Nothing here logs: errors name block numbers and event names, never event payloads.
 */
export class Indexer extends IndexerQueries {
  private readonly chain: ChainReader;
  private readonly subscribers: ReadonlyMap<string, readonly Subscriber[]>;
  private readonly addressList: readonly string[];

  private queue: Promise<unknown> = Promise.resolve();
  private chainChecked = false;
  private polling = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private lastErrorValue: unknown = undefined;

  private constructor(
    store: IndexerStore,
    private readonly provider: IndexerProvider,
    private readonly settings: Settings,
    private readonly onError: ((error: unknown) => void) | undefined,
  ) {
    super(store);
    this.chain = new ChainReader(provider, settings.blockConcurrency);
    this.subscribers = subscribersOf(settings.addresses, settings.extensions);
    this.addressList = [...this.subscribers.keys()];
  }

  /**
   * Opens (creating and migrating it if needed) the index at `dbPath`, `databaseUrl` or `store`.
   * @throws IndexerError `INDEXER_INVALID_ARGUMENT`, `INDEXER_CONFIG_MISMATCH`, `INDEXER_REINDEX_REQUIRED`,
   * `INDEXER_SCHEMA`.
   */
  static async open(options: IndexerOptions): Promise<Indexer> {
    const settings = settingsOf(options);
    const store = openStore(options);
    try {
      await prepareStore(store, settings.extensions);
      await bindIdentity(store, settings.addresses, settings.startBlock);
    } catch (error) {
      await store.close();
      throw error;
    }
    return new Indexer(store, options.provider, settings, options.onError);
  }

  /**
   * Indexes everything from the checkpoint + 1 up to `head - confirmations`, range by range, after rolling back a
   * reorg if the chain replaced indexed blocks, and resolves with what it did. Calls are serialized.
   * @throws IndexerError `INDEXER_REORG` when the chain moved while a range was read (nothing committed; the next
   * sync repairs it); `INDEXER_DECODE` when a log cannot be applied (the range is rolled back);
   * `INDEXER_CONFIG_MISMATCH` on another chain.
   */
  syncOnce(): Promise<SyncResult> {
    const run = this.queue.then(() => this.sync());
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Polls: one `syncOnce()`, then another `intervalMs` after it ends, until `stop()`. No-op if already polling. */
  start(intervalMs: number = DEFAULT_POLL_INTERVAL_MS): void {
    this.assertOpen();
    if (!Number.isSafeInteger(intervalMs) || intervalMs < 0) {
      throw new IndexerError("INDEXER_INVALID_ARGUMENT", "intervalMs must be a non-negative integer");
    }
    if (this.polling) return;
    this.polling = true;
    const tick = (): void => {
      this.timer = undefined;
      this.syncOnce()
        .then(
          () => {
            this.lastErrorValue = undefined;
          },
          (error: unknown) => {
            this.lastErrorValue = error;
            this.onError?.(error);
          },
        )
        .finally(() => {
          if (this.polling && !this.closed) this.timer = setTimeout(tick, intervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Stops polling and waits for a sync in progress to end. */
  async stop(): Promise<void> {
    this.polling = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.queue;
  }

  /** Whether the polling loop runs (false after `stop()`). */
  get isPolling(): boolean {
    return this.polling;
  }

  /** The last error of the polling loop, cleared by the next successful sync. */
  get lastError(): unknown {
    return this.lastErrorValue;
  }

  /** Stops polling, waits for a sync in progress, and closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.stop();
    this.closed = true;
    await this.store.close();
  }

  private async sync(): Promise<SyncResult> {
    this.assertOpen();
    if (!this.chainChecked) await this.checkChain();
    const head = await this.provider.getBlockNumber();
    const safeHead = head - this.settings.confirmations;
    let checkpoint = await this.checkpoint();
    let reorgView: ReorgView | null = null;
    if (checkpoint.blockHash !== null && (await this.chain.hashAt(checkpoint.blockNumber)) !== checkpoint.blockHash) {
      reorgView = await this.rollBack(checkpoint);
      checkpoint = await this.checkpoint();
    }

    let fromBlock: number | null = null;
    let ranges = 0;
    let events = 0;
    for (let from = checkpoint.blockNumber + 1; from <= safeHead;) {
      const to = Math.min(from + this.settings.batchBlocks - 1, safeHead);
      events += await this.indexRange(from, to, checkpoint);
      fromBlock ??= from;
      ranges++;
      checkpoint = await this.checkpoint();
      from = to + 1;
    }
    return {
      head,
      safeHead,
      fromBlock,
      toBlock: fromBlock === null ? null : checkpoint.blockNumber,
      ranges,
      events,
      checkpoint,
      reorg: reorgView,
    };
  }

  /** Reads one range and commits it with its block hashes and the checkpoint; returns the number of new logs. */
  private async indexRange(from: number, to: number, previous: Checkpoint): Promise<number> {
    const last = await this.chain.block(to);
    const logs = await this.provider.getLogs({ address: [...this.addressList], fromBlock: from, toBlock: to });
    const numbers = [...new Set(logs.map((log) => log.blockNumber))].filter((n) => n !== to);
    const blocks = await this.chain.blocks(numbers);
    blocks.set(to, last);

    // The chain must not have moved while the range was read.
    const lastAgain = await this.chain.block(to);
    if (lastAgain.hash !== last.hash) throw reorg(`block ${to} changed while blocks ${from}..${to} were read`);
    if (previous.blockHash !== null && (await this.chain.hashAt(previous.blockNumber)) !== previous.blockHash) {
      throw reorg(`the indexed block ${previous.blockNumber} left the chain while blocks ${from}..${to} were read`);
    }
    for (const log of logs) {
      if (log.removed || blocks.get(log.blockNumber)?.hash !== log.blockHash) {
        throw reorg(`a log of block ${log.blockNumber} is not on the canonical chain`);
      }
    }
    const ordered = [...logs].sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);

    this.assertOpen();
    return this.store.transaction(async (tx) => {
      await this.holdCheckpoint(tx, previous);
      let applied = 0;
      for (const log of ordered) {
        if (await applyLog(tx, this.subscribers, log, blocks.get(log.blockNumber) as BlockRef)) applied++;
      }
      for (const [blockNumber, block] of blocks) await tx.run(WRITE_BLOCK, [blockNumber, block.hash, block.timestamp]);
      await writeCheckpoint(tx, to, last);
      if (this.settings.reorgJournalBlocks !== null) await pruneJournal(tx, to - this.settings.reorgJournalBlocks);
      return applied;
    });
  }

  /**
   * Rolls the index back to the common ancestor of the indexed blocks and the chain, in one transaction; or, when
   * the chain replaced them all (or the ancestor is older than the journal), to before the start block.
   */
  private async rollBack(replaced: Checkpoint): Promise<ReorgView> {
    const ancestor = await findCommonAncestor(this.store, this.chain);
    const journalFrom = await meta(this.store, "journal_from");
    const rebuild = ancestor === null || (journalFrom !== null && ancestor.blockNumber < Number(journalFrom));
    const to = rebuild ? this.settings.startBlock - 1 : ancestor.blockNumber;
    this.assertOpen();
    await this.store.transaction(async (tx) => {
      await this.holdCheckpoint(tx, replaced);
      if (rebuild) {
        await resetAll(tx);
        await tx.run("DELETE FROM meta WHERE key = 'journal_from'");
        await writeCheckpoint(tx, to, null);
      } else {
        await rollBackTo(tx, to);
        await writeCheckpoint(tx, to, { hash: ancestor.blockHash, timestamp: ancestor.blockTimestamp });
      }
      for (const extension of this.settings.extensions) {
        if (!extension.rollback) {
          throw reorg(`the chain replaced indexed blocks, and extension ${extension.name} cannot roll back`);
        }
        await extension.rollback(to, tx);
      }
    });
    return { replacedCheckpoint: replaced.blockNumber, ancestor: to, rebuilt: rebuild };
  }

  /**
   * Locks the checkpoint row for the transaction (PostgreSQL: `FOR UPDATE`; SQLite's `BEGIN IMMEDIATE` already holds
   * the write lock) and checks that it is still the one the range or the rollback was computed from: a second
   * writer on the same database (or a restored backup) must not get a range committed over a gap.
   */
  private async holdCheckpoint(tx: SqlRunner, expected: Checkpoint): Promise<void> {
    const lock = this.store.dialect === "postgres" ? " FOR UPDATE" : "";
    const row = await tx.get<{ block_number: number; block_hash: string | null }>(
      `SELECT block_number, block_hash FROM checkpoint WHERE id = 1${lock}`,
    );
    if (row?.block_number !== expected.blockNumber || row.block_hash !== expected.blockHash) {
      throw reorg(`the checkpoint moved from block ${expected.blockNumber} while the chain was read (another writer?)`);
    }
  }

  private async checkChain(): Promise<void> {
    const { chainId } = await this.provider.getNetwork();
    const stored = await meta(this.store, "chain_id");
    if (stored === null)
      await this.store.run("INSERT INTO meta (key, value) VALUES (?, ?)", ["chain_id", `${chainId}`]);
    else if (stored !== chainId.toString()) {
      throw new IndexerError(
        "INDEXER_CONFIG_MISMATCH",
        `the database indexes chain ${stored}, the provider is on chain ${chainId}`,
      );
    }
    this.chainChecked = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new IndexerError("INDEXER_CLOSED", "the indexer is closed");
  }
}

/**
 * A read-only view of an indexer's database, for a process that serves queries while another indexes (a SQLite
 * file in WAL mode, so readers do not block the writer; or the same PostgreSQL database).
 */
export class IndexReader extends IndexerQueries {
  private constructor(store: IndexerStore) {
    super(store);
  }

  /**
   * Opens an existing index: a SQLite file path, or `{ databaseUrl }`.
   * @throws IndexerError `INDEXER_SCHEMA` (not an index, or another schema version), `INDEXER_REINDEX_REQUIRED`.
   */
  static async open(location: string | StoreLocation): Promise<IndexReader> {
    const store = openStore(typeof location === "string" ? { dbPath: location } : location, { readonly: true });
    try {
      await assertReadable(store);
    } catch (error) {
      await store.close();
      throw error;
    }
    return new IndexReader(store);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

function settingsOf(options: IndexerOptions): Settings {
  const confirmations = nonNegativeInt("confirmations", options.confirmations, DEFAULT_CONFIRMATIONS);
  const batchBlocks = nonNegativeInt("batchBlocks", options.batchBlocks, DEFAULT_BATCH_BLOCKS);
  const startBlock = nonNegativeInt("startBlock", options.startBlock, 0);
  const blockConcurrency = nonNegativeInt("blockConcurrency", options.blockConcurrency, 8);
  const reorgJournalBlocks =
    options.reorgJournalBlocks === undefined
      ? null
      : nonNegativeInt("reorgJournalBlocks", options.reorgJournalBlocks, 0);
  if (batchBlocks < 1) throw new IndexerError("INDEXER_INVALID_ARGUMENT", "batchBlocks must be at least 1");
  if (blockConcurrency < 1) throw new IndexerError("INDEXER_INVALID_ARGUMENT", "blockConcurrency must be at least 1");
  const addresses: IndexerAddresses = {
    registry: addressArg("addresses.registry", options.addresses.registry),
    consent: addressArg("addresses.consent", options.addresses.consent),
    updateLog: addressArg("addresses.updateLog", options.addresses.updateLog),
  };
  const extensions = options.extensions ?? [];
  const names = new Set<string>([CORE_COMPONENT, "registry", "consent", "updateLog"]);
  for (const extension of extensions) {
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(extension.name) || names.has(extension.name)) {
      throw new IndexerError("INDEXER_INVALID_ARGUMENT", "extension names must be unique identifiers");
    }
    names.add(extension.name);
    addressArg(`extension ${extension.name} address`, extension.address);
  }
  return { confirmations, batchBlocks, startBlock, blockConcurrency, reorgJournalBlocks, addresses, extensions };
}

/** Records the addresses and start block in a new database, or checks them against an existing one. */
async function bindIdentity(store: IndexerStore, addresses: IndexerAddresses, startBlock: number): Promise<void> {
  await store.transaction(async (tx) => {
    for (const [key, value] of [
      ["registry", addresses.registry],
      ["consent", addresses.consent],
      ["update_log", addresses.updateLog],
    ] as const) {
      const stored = await meta(tx, key);
      if (stored === null) await tx.run("INSERT INTO meta (key, value) VALUES (?, ?)", [key, value]);
      else if (stored !== value) {
        throw new IndexerError("INDEXER_CONFIG_MISMATCH", `the database indexes another ${key} contract`);
      }
    }
    if ((await meta(tx, "start_block")) === null) {
      await tx.run("INSERT INTO meta (key, value) VALUES (?, ?)", ["start_block", String(startBlock)]);
      await writeCheckpoint(tx, startBlock - 1, null);
    }
  });
}

/** Drops the journal of blocks up to `horizon`: from then on a reorg below it rebuilds the index from the start. */
async function pruneJournal(tx: SqlRunner, horizon: number): Promise<void> {
  const journalFrom = await meta(tx, "journal_from");
  if (journalFrom !== null && Number(journalFrom) >= horizon) return;
  await tx.run("DELETE FROM reorg_journal WHERE block_number <= ?", [horizon]);
  await tx.run(
    "INSERT INTO meta (key, value) VALUES ('journal_from', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [String(horizon)],
  );
}

async function writeCheckpoint(tx: SqlRunner, blockNumber: number, block: BlockRef | null): Promise<void> {
  await tx.run(WRITE_CHECKPOINT, {
    block_number: blockNumber,
    block_hash: block?.hash ?? null,
    block_timestamp: block?.timestamp ?? null,
    updated_at: Math.floor(Date.now() / 1000),
  });
}

async function meta(db: SqlRunner, key: string): Promise<string | null> {
  return (await db.get<{ value: string }>("SELECT value FROM meta WHERE key = ?", [key]))?.value ?? null;
}

function nonNegativeInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new IndexerError("INDEXER_INVALID_ARGUMENT", `${name} must be a non-negative integer`);
  }
  return value;
}
