import { journalRows } from "../journal";
import type { SqlRunner } from "../store/store";
import type { RawHandler, WriteContext } from "./common";
import { consentHandlers } from "./consent";
import { JOURNALED, STATEMENTS, type StatementName } from "./statements";
import { registryHandlers } from "./registry";
import { updateLogHandlers } from "./update-log";

export type { RawHandler, WriteContext } from "./common";
export { REQUEST_PENDING } from "./common";

/** The core contracts the indexer follows. */
export type CoreContract = "registry" | "consent" | "updateLog";

/**
 * Applies decoded core events to the tables (see schema.ts). Every handler runs inside the range's transaction;
 * a log reaches one only once, because the dispatcher first inserts it into `events` keyed by its position. The
 * history tables are keyed by the same position as a second guard (`ON CONFLICT ... DO NOTHING`).
 */
export const CORE_HANDLERS: Readonly<Record<CoreContract, ReadonlyMap<string, RawHandler>>> = {
  registry: registryHandlers,
  consent: consentHandlers,
  updateLog: updateLogHandlers,
};

/** The writes of the events of block `blockNumber` in `tx`, journaling what a reorg would have to undo. */
export function writeContext(tx: SqlRunner, blockNumber: number): WriteContext {
  return {
    async run(statement: StatementName, params: Readonly<Record<string, unknown>>): Promise<number> {
      const journaled = JOURNALED[statement];
      if (journaled) {
        const where = { ...journaled.fixed, ...Object.fromEntries(journaled.key.map((c) => [c, params[c]])) };
        await journalRows(tx, blockNumber, journaled.table, where);
      }
      return tx.run(STATEMENTS[statement], params);
    },
    get<T extends object>(statement: StatementName, params: Readonly<Record<string, unknown>>) {
      return tx.get<T>(STATEMENTS[statement], params);
    },
  };
}
