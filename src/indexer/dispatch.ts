import type { Interface, Log, LogDescription, Result } from "ethers";
import { IConsentPolicy__factory, ITwinUpdateLog__factory, TwinRegistry__factory } from "../../typechain-types";
import type { BlockRef } from "./chain";
import { addressArg } from "./codec";
import { IndexerError } from "./errors";
import type { SqlRunner } from "./store/store";
import type { ChainPosition } from "./types";
import { CORE_HANDLERS, writeContext, type CoreContract, type RawHandler } from "./writer";

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
 * own, in the same range transaction as the core, under the same checkpoint, on either backend.
 *
 * (The query gateway's access-log anchors, `TwinUpdateLog.AccessLogAnchored`, are core events: see
 * `accessLogAnchorsOf`.) An extension brings migrations creating its tables, keyed by `(block_number, log_index)`,
 * `apply` inserting one row per event, and `rollback` deleting the rows of the blocks a reorg replaced. Its queries
 * read through `Indexer.read(db => ...)`. SQL goes through `SqlRunner` in the dialect both backends share
 * (see store/store.ts).
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
  /** SQL migrations of the extension's own tables, applied once each, in order (portable SQL, or per backend). */
  readonly migrations?:
    readonly string[] | { readonly sqlite: readonly string[]; readonly postgres: readonly string[] };
  /**
   * Called, inside the range's transaction, once for every decoded log of `address` not indexed before. Throwing
   * rolls the whole range back (the checkpoint stays where it was). Must only await `db`, and must not log payloads.
   */
  apply(event: ExtensionEvent, db: SqlRunner): void | Promise<void>;
  /**
   * Called, inside the rollback's transaction, after a reorg: undo what `apply` did for blocks above `ancestor`
   * (typically `DELETE FROM my_table WHERE block_number > ?`). Without it, a reorg under an extension's blocks
   * cannot be repaired and the sync throws `INDEXER_REORG`, as before issue 12.
   */
  rollback?(ancestor: number, db: SqlRunner): void | Promise<void>;
}

export interface Subscriber {
  /** `registry`, `consent`, `updateLog` or the extension's name. */
  readonly label: string;
  readonly contractInterface: Interface;
  readonly core: ReadonlyMap<string, RawHandler> | null;
  readonly extension: IndexerExtension | null;
}

/** The subscribers of each followed address (lowercase). */
export function subscribersOf(
  addresses: IndexerAddresses,
  extensions: readonly IndexerExtension[],
): ReadonlyMap<string, readonly Subscriber[]> {
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
    add(address, { label, contractInterface, core: CORE_HANDLERS[label], extension: null });
  }
  for (const extension of extensions) {
    add(addressArg(`extension ${extension.name} address`, extension.address), {
      label: extension.name,
      contractInterface: extension.contractInterface,
      core: null,
      extension,
    });
  }
  return subscribers;
}

const INSERT_EVENT = `
  INSERT INTO events (block_number, log_index, block_hash, block_timestamp, tx_hash, tx_index, contract, address,
                      name, twin_id)
  VALUES (@block_number, @log_index, @block_hash, @block_timestamp, @tx_hash, @tx_index, @contract, @address,
          @name, @twin_id)
  ON CONFLICT (block_number, log_index) DO NOTHING`;

/** Inserts the log into `events` and applies it, in `tx`; false (and nothing done) when it was indexed before. */
export async function applyLog(
  tx: SqlRunner,
  subscribers: ReadonlyMap<string, readonly Subscriber[]>,
  log: Log,
  block: BlockRef,
): Promise<boolean> {
  const at: ChainPosition = {
    blockNumber: log.blockNumber,
    logIndex: log.index,
    timestamp: block.timestamp,
    transactionHash: log.transactionHash,
  };
  const mine = subscribers.get(log.address.toLowerCase()) ?? [];
  const decoded = mine.flatMap((subscriber) => {
    const description = parse(subscriber, log);
    return description ? [{ subscriber, description, args: description.args.toObject() }] : [];
  });
  const first = decoded[0];
  const twinId = typeof first?.args.twinId === "string" ? first.args.twinId.toLowerCase() : null;

  const inserted = await tx.run(INSERT_EVENT, {
    block_number: at.blockNumber,
    log_index: at.logIndex,
    block_hash: log.blockHash,
    block_timestamp: at.timestamp,
    tx_hash: at.transactionHash,
    tx_index: log.transactionIndex,
    contract: first?.subscriber.label ?? mine[0]?.label ?? "unknown",
    address: log.address,
    name: first?.description.name ?? null,
    twin_id: twinId,
  });
  if (inserted === 0) return false;

  const w = writeContext(tx, at.blockNumber);
  for (const { subscriber, description, args } of decoded) {
    try {
      await subscriber.core?.get(description.name)?.(args, at, w);
      await subscriber.extension?.apply(
        { name: description.name, args: description.args, address: log.address, twinId, position: at },
        tx,
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
