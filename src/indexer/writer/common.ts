import type { TypedContractEvent } from "../../../typechain-types/common";
import type { TwinStatus } from "../../vocabulary";
import { smallUint } from "../codec";
import type { ChainPosition, TwinHistoryKind } from "../types";
import type { StatementName } from "./statements";

/**
 * The writes of one event, inside the range's transaction. `run` journals the rows a statement may change before
 * running it when the statement is one of `JOURNALED` (see journal.ts), so that a reorg can undo it.
 */
export interface WriteContext {
  /** Runs a statement; resolves with the number of rows it changed. */
  run(statement: StatementName, params: Readonly<Record<string, unknown>>): Promise<number>;
  /** The first row of a query statement, or undefined. */
  get<T extends object>(statement: StatementName, params: Readonly<Record<string, unknown>>): Promise<T | undefined>;
}

/** The event names of a typechain contract type (its `filters` keys without the full signatures). */
type EventNames<C extends { filters: object }> = Exclude<Extract<keyof C["filters"], string>, `${string}(${string}`>;

/** The decoded arguments of an event, as typechain types them (`Result.toObject()` of the same ABI). */
type EventArgs<C extends { filters: object }, E extends keyof C["filters"]> =
  C["filters"][E] extends TypedContractEvent<infer _I, infer _O, infer Obj> ? Obj : never;

/** Handlers of some of a contract's events; the names and argument types are checked against the bindings. */
export type EventHandlers<C extends { filters: object }> = {
  readonly [E in EventNames<C>]?: (args: EventArgs<C, E>, at: ChainPosition, w: WriteContext) => Promise<void>;
};

/** A handler after type erasure; the dispatcher passes `Result.toObject()` of the log the name was decoded from. */
export type RawHandler = (args: Record<string, unknown>, at: ChainPosition, w: WriteContext) => Promise<void>;

export function erase<C extends { filters: object }>(handlers: EventHandlers<C>): ReadonlyMap<string, RawHandler> {
  const map = new Map<string, RawHandler>();
  for (const [name, handler] of Object.entries(handlers)) {
    // The arguments were decoded with the same ABI that typechain typed them from.
    map.set(name, handler as RawHandler);
  }
  return map;
}

export const hex = (value: string): string => value.toLowerCase();

/** `IConsentPolicy.RequestStatus.Pending`. */
export const REQUEST_PENDING = 1;

interface HistoryParts {
  readonly previous?: string | null;
  readonly next?: string | null;
  readonly actor?: string | null;
}

interface Terms {
  readonly categories: bigint;
  readonly actions: bigint;
  readonly purposes: bigint;
  readonly validFrom: bigint;
  readonly validUntil: bigint;
}

export function grantTerms(e: Terms) {
  return {
    categories: smallUint(e.categories),
    actions: smallUint(e.actions),
    purposes: smallUint(e.purposes),
    valid_from: smallUint(e.validFrom),
    valid_until: smallUint(e.validUntil),
  };
}

export function position(at: ChainPosition) {
  return {
    block_number: at.blockNumber,
    log_index: at.logIndex,
    block_timestamp: at.timestamp,
    tx_hash: at.transactionHash,
  };
}

/** The parameters of a change to a twin's row. */
export function touch(twinId: string, at: ChainPosition): { twin_id: string; block: number; at: number } {
  return { twin_id: hex(twinId), block: at.blockNumber, at: at.timestamp };
}

export async function history(
  w: WriteContext,
  twinId: string,
  kind: TwinHistoryKind,
  at: ChainPosition,
  p: HistoryParts,
): Promise<void> {
  await w.run("history", {
    ...position(at),
    twin_id: hex(twinId),
    kind,
    previous: p.previous ?? null,
    next: p.next ?? null,
    actor: p.actor ?? null,
  });
}

export async function setStatus(w: WriteContext, twinId: string, status: TwinStatus, at: ChainPosition) {
  await w.run("twinStatus", { ...touch(twinId, at), status });
}

export async function bumpEpoch(w: WriteContext, twinId: string, grantee: string, at: ChainPosition) {
  await w.run("epochBump", { twin_id: hex(twinId), grantee, block: at.blockNumber, at: at.timestamp });
}
