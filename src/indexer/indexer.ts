import Database from "better-sqlite3";
import type { Interface, Log, LogDescription, Provider, Result } from "ethers";
import { IConsentPolicy__factory, ITwinUpdateLog__factory, TwinRegistry__factory } from "../../typechain-types";
import { addressArg } from "./codec";
import { IndexerError } from "./errors";
import { IndexerQueries } from "./queries";
import { assertFollowsV2Contracts, CORE_COMPONENT, CORE_MIGRATIONS, migrate } from "./schema";
import type { ChainPosition, Checkpoint, SyncResult } from "./types";
import { CoreWriter, type CoreContract, type RawHandler } from "./writer";

/** The provider calls the indexer makes; any ethers v6 `Provider` has them. */
export type IndexerProvider = Pick<Provider, "getBlockNumber" | "getBlock" | "getLogs" | "getNetwork">;

/** The deployed core contracts. */
export interface IndexerAddresses {
  readonly registry: string;
  readonly consent: string;
  readonly updateLog: string;
}

/** A decoded log handed to an extension. */
export interface ExtensionEvent {
  /** The event's name in the extension's ABI. */
  readonly name: string;
  readonly args: Result;
  /** The emitting contract, checksummed. */
  readonly address: string;
  /** The `twinId` argument, lowercase, when the event has one. */
  readonly twinId: string | null;
  readonly position: ChainPosition;
}

/**
 * The extension point: follows one more contract's events (or more events of a core contract) into tables of its
 * own, in the same range transaction as the core, under the same checkpoint.
 *
 * (The query gateway's access-log anchors, `TwinUpdateLog.AccessLogAnchored`, are core events: see
 * `accessLogAnchorsOf`.) An extension brings a migration creating its tables, keyed by `(block_number, log_index)`,
 * and `apply` inserting one row per event. Its queries read through `Indexer.read(db => ...)` or `openIndexReader`.
 *
 * An extension added to an existing database sees events from the checkpoint on; to backfill, build a fresh
 * database from the start block.
 */
export interface IndexerExtension {
  /** Unique name; its schema version is kept under this name in `schema_version`, and `events.contract` says it. */
  readonly name: string;
  /** The contract whose logs it follows (may be a core contract's address). */
  readonly address: string;
  /** Decodes that contract's logs (e.g. `SomeContract__factory.createInterface()`). */
  readonly contractInterface: Interface;
  /** SQL migrations of the extension's own tables, applied once each, in order. */
  readonly migrations?: readonly string[];
  /**
   * Called, inside the range's transaction, once for every decoded log of `address` not indexed before. Throwing
   * rolls the whole range back (the checkpoint stays where it was). Must not log payloads.
   */
  apply(event: ExtensionEvent, db: Database.Database): void;
}

export interface IndexerOptions {
  readonly provider: IndexerProvider;
  readonly addresses: IndexerAddresses;
  /** A SQLite file path, or ":memory:". */
  readonly dbPath: string;
  /**
   * Blocks below the head before a block is indexed: only `head - confirmations` and older are read. Default 2;
   * 0 for tests on an automining Hardhat network. Reorgs shallower than this are never seen.
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
  /** Called by the polling loop with each failed sync's error (the loop keeps going, except after a reorg). */
  readonly onError?: (error: unknown) => void;
}

export const DEFAULT_CONFIRMATIONS = 2;
export const DEFAULT_BATCH_BLOCKS = 2_000;
export const DEFAULT_POLL_INTERVAL_MS = 2_000;

interface BlockRef {
  readonly hash: string;
  readonly timestamp: number;
}

interface Subscriber {
  /** `registry`, `consent`, `updateLog` or the extension's name. */
  readonly label: string;
  readonly contractInterface: Interface;
  readonly core: ReadonlyMap<string, RawHandler> | null;
  readonly extension: IndexerExtension | null;
}

/**
 * Follows TwinRegistry, ConsentPolicy and TwinUpdateLog events into SQLite.
 *
 * **Exactly once.** `syncOnce()` reads from the checkpoint + 1 up to `head - confirmations`, in ranges of at
 * most `batchBlocks`. Each range's rows and the new checkpoint (block number, hash and time of the range's last
 * block) are written in one SQLite transaction: a crash before the commit leaves neither, so the range is read
 * again on restart; a crash after leaves both, so it is not. As a second guard every log is first inserted into
 * `events` keyed by `(block_number, log_index)`, and a log already there is skipped whole.
 *
 * **Reorgs.** Only blocks `confirmations` deep are indexed, so a reorg shallower than that is never seen. A deeper
 * one is detected, not repaired: every sync first compares the checkpoint's stored hash with the chain's block at
 * that height, and every range checks that the chain did not move while it was read (the last block's hash before
 * and after `getLogs`, the checkpoint's hash, and each log's block hash). Any difference throws `INDEXER_REORG`,
 * commits nothing and stops the polling loop. Recovery is an operator's decision: rebuild the database from the
 * start block (the chain is the source of truth), with a larger `confirmations` if reorgs of that depth are
 * expected on the network.
 *
 * **Identity.** The database remembers the chain id and the three addresses; opening it for others throws
 * `INDEXER_CONFIG_MISMATCH`. A database of the v1 contracts (core schema 1 or 2) is refused with
 * `INDEXER_REINDEX_REQUIRED`, untouched: re-index the v2 deployment into a new file (see `assertFollowsV2Contracts`).
 *
 * Nothing here logs: errors name block numbers and event names, never event payloads.
 */
export class Indexer extends IndexerQueries {
  private readonly provider: IndexerProvider;
  private readonly confirmations: number;
  private readonly batchBlocks: number;
  private readonly blockConcurrency: number;
  private readonly onError: ((error: unknown) => void) | undefined;
  private readonly addressList: readonly string[];
  private readonly subscribers: ReadonlyMap<string, readonly Subscriber[]>;
  private readonly insertEvent: Database.Statement;
  private readonly writeCheckpoint: Database.Statement;
  private readonly readMeta: Database.Statement;
  private readonly writeMeta: Database.Statement;

  private queue: Promise<unknown> = Promise.resolve();
  private chainChecked = false;
  private polling = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private lastErrorValue: unknown = undefined;

  constructor(options: IndexerOptions) {
    const confirmations = nonNegativeInt("confirmations", options.confirmations, DEFAULT_CONFIRMATIONS);
    const batchBlocks = nonNegativeInt("batchBlocks", options.batchBlocks, DEFAULT_BATCH_BLOCKS);
    const startBlock = nonNegativeInt("startBlock", options.startBlock, 0);
    const blockConcurrency = nonNegativeInt("blockConcurrency", options.blockConcurrency, 8);
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

    const db = openDatabase(options.dbPath);
    try {
      assertFollowsV2Contracts(db);
      migrate(db, CORE_COMPONENT, CORE_MIGRATIONS);
      for (const extension of extensions) migrate(db, extension.name, extension.migrations ?? []);
    } catch (error) {
      db.close();
      throw error;
    }
    super(db);

    this.provider = options.provider;
    this.confirmations = confirmations;
    this.batchBlocks = batchBlocks;
    this.blockConcurrency = blockConcurrency;
    this.onError = options.onError;

    this.insertEvent = db.prepare(`
      INSERT INTO events (block_number, log_index, block_hash, block_timestamp, tx_hash, tx_index, contract, address,
                          name, twin_id)
      VALUES (@block_number, @log_index, @block_hash, @block_timestamp, @tx_hash, @tx_index, @contract, @address,
              @name, @twin_id)
      ON CONFLICT (block_number, log_index) DO NOTHING`);
    this.writeCheckpoint = db.prepare(`
      INSERT INTO checkpoint (id, block_number, block_hash, block_timestamp, updated_at)
      VALUES (1, @block_number, @block_hash, @block_timestamp, @updated_at)
      ON CONFLICT (id) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash,
        block_timestamp = excluded.block_timestamp, updated_at = excluded.updated_at`);
    this.readMeta = db.prepare("SELECT value FROM meta WHERE key = ?");
    this.writeMeta = db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)");

    try {
      this.bindIdentity(addresses, startBlock);
    } catch (error) {
      db.close();
      throw error;
    }

    const writer = new CoreWriter(db);
    const subscribers = new Map<string, Subscriber[]>();
    const add = (address: string, subscriber: Subscriber): void => {
      const key = address.toLowerCase();
      subscribers.set(key, [...(subscribers.get(key) ?? []), subscriber]);
    };
    const core: readonly [CoreContract, string, Interface][] = [
      ["registry", addresses.registry, TwinRegistry__factory.createInterface()],
      ["consent", addresses.consent, IConsentPolicy__factory.createInterface()],
      ["updateLog", addresses.updateLog, ITwinUpdateLog__factory.createInterface()],
    ];
    for (const [label, address, contractInterface] of core) {
      add(address, { label, contractInterface, core: writer.handlers[label], extension: null });
    }
    for (const extension of extensions) {
      add(addressArg(`extension ${extension.name} address`, extension.address), {
        label: extension.name,
        contractInterface: extension.contractInterface,
        core: null,
        extension,
      });
    }
    this.subscribers = subscribers;
    this.addressList = [...subscribers.keys()];
  }

  // -------------------------------------------------------------------------------------------------------------
  // Syncing
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Indexes everything from the checkpoint + 1 up to `head - confirmations`, range by range, and resolves with
   * what it did. Calls are serialized: a call made while another runs starts after it.
   * @throws IndexerError `INDEXER_REORG` when the indexed chain was replaced; `INDEXER_DECODE` when a log cannot
   * be applied (the range is rolled back); `INDEXER_CONFIG_MISMATCH` on another chain.
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
            if (error instanceof IndexerError && error.code === "INDEXER_REORG") this.polling = false;
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

  /** Whether the polling loop runs (false after `stop()`, and after a reorg stopped it). */
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
    this.db.close();
  }

  private async sync(): Promise<SyncResult> {
    this.assertOpen();
    if (!this.chainChecked) await this.checkChain();
    const head = await this.provider.getBlockNumber();
    const safeHead = head - this.confirmations;
    let checkpoint = this.checkpoint();
    if (checkpoint.blockHash !== null && checkpoint.blockNumber <= head) await this.verifyCanonical(checkpoint);

    let fromBlock: number | null = null;
    let ranges = 0;
    let events = 0;
    for (let from = checkpoint.blockNumber + 1; from <= safeHead;) {
      const to = Math.min(from + this.batchBlocks - 1, safeHead);
      events += await this.indexRange(from, to, checkpoint);
      fromBlock ??= from;
      ranges++;
      checkpoint = this.checkpoint();
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
    };
  }

  /** Reads one range and commits it with the checkpoint; returns the number of new logs applied. */
  private async indexRange(from: number, to: number, previous: Checkpoint): Promise<number> {
    const last = await this.block(to);
    const logs = await this.provider.getLogs({ address: [...this.addressList], fromBlock: from, toBlock: to });
    const numbers = [...new Set(logs.map((log) => log.blockNumber))].filter((n) => n !== to);
    const blocks = await this.blocks(numbers);
    blocks.set(to, last);

    // The chain must not have moved while the range was read.
    const lastAgain = await this.block(to);
    if (lastAgain.hash !== last.hash) throw reorg(`block ${to} changed while blocks ${from}..${to} were read`);
    if (previous.blockHash !== null) await this.verifyCanonical(previous);
    for (const log of logs) {
      if (log.removed || blocks.get(log.blockNumber)?.hash !== log.blockHash) {
        throw reorg(`a log of block ${log.blockNumber} is not on the canonical chain`);
      }
    }
    const ordered = [...logs].sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);

    const commit = this.db.transaction((): number => {
      let applied = 0;
      for (const log of ordered) {
        const block = blocks.get(log.blockNumber) as BlockRef;
        if (this.applyLog(log, block)) applied++;
      }
      this.writeCheckpoint.run({
        block_number: to,
        block_hash: last.hash,
        block_timestamp: last.timestamp,
        updated_at: Math.floor(Date.now() / 1000),
      });
      return applied;
    });
    this.assertOpen();
    return commit();
  }

  /** Inserts the log into `events` and applies it; false (and nothing done) when it was indexed before. */
  private applyLog(log: Log, block: BlockRef): boolean {
    const at: ChainPosition = {
      blockNumber: log.blockNumber,
      logIndex: log.index,
      timestamp: block.timestamp,
      transactionHash: log.transactionHash,
    };
    const decoded = (this.subscribers.get(log.address.toLowerCase()) ?? []).flatMap((subscriber) => {
      const description = parse(subscriber, log);
      return description ? [{ subscriber, description, args: description.args.toObject() }] : [];
    });
    const first = decoded[0];
    const twinId = typeof first?.args.twinId === "string" ? first.args.twinId.toLowerCase() : null;

    const inserted = this.insertEvent.run({
      block_number: at.blockNumber,
      log_index: at.logIndex,
      block_hash: log.blockHash,
      block_timestamp: at.timestamp,
      tx_hash: at.transactionHash,
      tx_index: log.transactionIndex,
      contract: first?.subscriber.label ?? this.subscribers.get(log.address.toLowerCase())?.[0]?.label ?? "unknown",
      address: log.address,
      name: first?.description.name ?? null,
      twin_id: twinId,
    });
    if (inserted.changes === 0) return false;

    for (const { subscriber, description, args } of decoded) {
      try {
        subscriber.core?.get(description.name)?.(args, at);
        subscriber.extension?.apply(
          { name: description.name, args: description.args, address: log.address, twinId, position: at },
          this.db,
        );
      } catch (error) {
        throw new IndexerError(
          "INDEXER_DECODE",
          `applying ${subscriber.label}.${description.name} of block ${at.blockNumber} log ${at.logIndex} failed`,
          { cause: error },
        );
      }
    }
    return true;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Chain checks
  // -------------------------------------------------------------------------------------------------------------

  private async verifyCanonical(checkpoint: Checkpoint): Promise<void> {
    const block = await this.provider.getBlock(checkpoint.blockNumber);
    if (!block || block.hash !== checkpoint.blockHash) {
      throw reorg(
        `the indexed block ${checkpoint.blockNumber} is no longer on the chain (its hash differs from the checkpoint's)`,
      );
    }
  }

  private async checkChain(): Promise<void> {
    const { chainId } = await this.provider.getNetwork();
    const stored = this.meta("chain_id");
    if (stored === null) this.writeMeta.run("chain_id", chainId.toString());
    else if (stored !== chainId.toString()) {
      throw new IndexerError(
        "INDEXER_CONFIG_MISMATCH",
        `the database indexes chain ${stored}, the provider is on chain ${chainId}`,
      );
    }
    this.chainChecked = true;
  }

  /** Records the addresses and start block in a new database, or checks them against an existing one. */
  private bindIdentity(addresses: IndexerAddresses, startBlock: number): void {
    const bind = this.db.transaction(() => {
      for (const [key, value] of [
        ["registry", addresses.registry],
        ["consent", addresses.consent],
        ["update_log", addresses.updateLog],
      ] as const) {
        const stored = this.meta(key);
        if (stored === null) this.writeMeta.run(key, value);
        else if (stored !== value) {
          throw new IndexerError("INDEXER_CONFIG_MISMATCH", `the database indexes another ${key} contract`);
        }
      }
      if (this.meta("start_block") === null) {
        this.writeMeta.run("start_block", String(startBlock));
        this.writeCheckpoint.run({
          block_number: startBlock - 1,
          block_hash: null,
          block_timestamp: null,
          updated_at: Math.floor(Date.now() / 1000),
        });
      }
    });
    bind();
  }

  private meta(key: string): string | null {
    const row = this.readMeta.get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  private async block(blockNumber: number): Promise<BlockRef> {
    const block = await this.provider.getBlock(blockNumber);
    if (!block || block.hash === null) throw reorg(`block ${blockNumber} is not on the chain`);
    return { hash: block.hash, timestamp: block.timestamp };
  }

  private async blocks(numbers: readonly number[]): Promise<Map<number, BlockRef>> {
    const found = new Map<number, BlockRef>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < numbers.length) {
        const blockNumber = numbers[next++];
        found.set(blockNumber, await this.block(blockNumber));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.blockConcurrency, numbers.length) }, worker));
    return found;
  }

  private assertOpen(): void {
    if (this.closed) throw new IndexerError("INDEXER_CLOSED", "the indexer is closed");
  }
}

/**
 * A read-only view of an indexer's database, for a process that serves queries while another indexes (the file
 * is in WAL mode, so readers do not block the writer).
 */
export class IndexReader extends IndexerQueries {
  constructor(dbPath: string) {
    let db: Database.Database;
    try {
      db = new Database(dbPath, { readonly: true, fileMustExist: true });
    } catch (error) {
      throw new IndexerError("INDEXER_SCHEMA", "the indexer database cannot be opened", { cause: error });
    }
    try {
      assertFollowsV2Contracts(db);
      const row = db.prepare("SELECT version FROM schema_version WHERE component = ?").get(CORE_COMPONENT) as
        { version: number } | undefined;
      if (row?.version !== CORE_MIGRATIONS.length) {
        throw new IndexerError(
          "INDEXER_SCHEMA",
          `the database's core schema is at version ${row?.version ?? 0}, this code reads version ${CORE_MIGRATIONS.length}`,
        );
      }
    } catch (error) {
      db.close();
      if (error instanceof IndexerError) throw error;
      throw new IndexerError("INDEXER_SCHEMA", "the file is not an indexer database", { cause: error });
    }
    super(db);
  }

  close(): void {
    this.db.close();
  }
}

function openDatabase(dbPath: string): Database.Database {
  if (typeof dbPath !== "string" || dbPath.length === 0) {
    throw new IndexerError("INDEXER_INVALID_ARGUMENT", "dbPath must be a file path or :memory:");
  }
  const db = new Database(dbPath);
  if (dbPath !== ":memory:") {
    // WAL: readers (IndexReader) do not block the writer. synchronous=NORMAL may lose the last commits on power
    // loss, but each commit holds its rows and its checkpoint together, so what survives is consistent and the
    // lost ranges are read again.
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
  }
  db.pragma("busy_timeout = 5000");
  return db;
}

function parse(subscriber: Subscriber, log: Log): LogDescription | null {
  try {
    return subscriber.contractInterface.parseLog({ topics: [...log.topics], data: log.data });
  } catch (error) {
    throw new IndexerError(
      "INDEXER_DECODE",
      `a ${subscriber.label} log of block ${log.blockNumber} (log ${log.index}) does not decode`,
      { cause: error },
    );
  }
}

function reorg(message: string): IndexerError {
  return new IndexerError("INDEXER_REORG", message);
}

function nonNegativeInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new IndexerError("INDEXER_INVALID_ARGUMENT", `${name} must be a non-negative integer`);
  }
  return value;
}
