import { IndexerError } from "./errors";
import type { Row, SqlRunner } from "./store/store";

/**
 * The reorg journal: how the indexer undoes the blocks above a common ancestor (issue 12).
 *
 * Two kinds of rows are written by events:
 * - rows an event creates, which carry the block that created them (`CREATED_IN`): a rollback deletes those above
 *   the ancestor;
 * - rows an event changes after an earlier one wrote them (an update, or an upsert of current state): before the
 *   change, the writer journals the image of every row it may touch, or the key alone when there is none yet
 *   (`journalRows`). A rollback walks the journal above the ancestor from the newest entry back, putting each image
 *   back (or deleting the key), then deletes the created rows. What is left is what the index held at the ancestor.
 */

/** Tables whose rows an event creates, with the column naming the block of the event that created the row. */
export const CREATED_IN: Readonly<Record<string, string>> = {
  events: "block_number",
  blocks: "block_number",
  twins: "created_block",
  twin_history: "block_number",
  consent_history: "block_number",
  consent_requests: "block_number",
  emergency_accesses: "block_number",
  updates: "block_number",
  record_batches: "block_number",
  batches: "block_number",
  access_log_anchors: "block_number",
  state_commits: "block_number",
  cancelled_nonces: "block_number",
};

/** Primary keys of the tables whose rows an event may change after writing them (see writer/statements.ts). */
export const PRIMARY_KEYS: Readonly<Record<string, readonly string[]>> = {
  twins: ["twin_id"],
  sources: ["twin_id", "source"],
  delegates: ["twin_id", "delegate"],
  default_admin: ["id"],
  role_members: ["role", "account"],
  consents: ["twin_id", "grantee"],
  grant_epochs: ["twin_id", "grantee"],
  consent_requests: ["request_id"],
  emergency_policies: ["twin_id"],
  emergency_accesses: ["block_number", "log_index"],
  blocked_accounts: ["twin_id", "account"],
};

/** The tables a rollback touches; a full reset empties them all (with the journal). */
export const INDEXED_TABLES: readonly string[] = [
  ...new Set([...Object.keys(CREATED_IN), ...Object.keys(PRIMARY_KEYS)]),
];

/**
 * Journals, for a change made by an event of `blockNumber`, the rows of `table` matching `where` (column to
 * value): each row's image, or, when there is none and `where` is the whole primary key, the
 * key (the change will create the row).
 */
export async function journalRows(
  tx: SqlRunner,
  blockNumber: number,
  table: string,
  where: Readonly<Record<string, unknown>>,
): Promise<void> {
  const primaryKey = keyOf(table);
  const columns = Object.keys(where);
  const condition = columns.length === 0 ? "" : ` WHERE ${columns.map((c) => `${c} = ?`).join(" AND ")}`;
  const rows = await tx.all<Row>(
    `SELECT * FROM ${table}${condition}`,
    columns.map((c) => where[c]),
  );
  const insert = "INSERT INTO reorg_journal (block_number, table_name, row_key, row_image) VALUES (?, ?, ?, ?)";
  if (rows.length === 0) {
    if (primaryKey.every((c) => c in where) && columns.length === primaryKey.length) {
      await tx.run(insert, [blockNumber, table, JSON.stringify(where), null]);
    }
    return;
  }
  for (const row of rows) {
    const key = Object.fromEntries(primaryKey.map((c) => [c, row[c]]));
    await tx.run(insert, [blockNumber, table, JSON.stringify(key), JSON.stringify(row)]);
  }
}

/**
 * Puts every indexed table back as it was once block `ancestor` was indexed: undoes the journal above it (newest
 * first), deletes the rows created above it, and drops those journal entries. Runs inside the caller's transaction.
 */
export async function rollBackTo(tx: SqlRunner, ancestor: number): Promise<void> {
  const entries = await tx.all<{ table_name: string; row_key: string; row_image: string | null }>(
    "SELECT table_name, row_key, row_image FROM reorg_journal WHERE block_number > ? ORDER BY seq DESC",
    [ancestor],
  );
  for (const entry of entries) {
    const primaryKey = keyOf(entry.table_name);
    const key = JSON.parse(entry.row_key) as Record<string, unknown>;
    await tx.run(
      `DELETE FROM ${entry.table_name} WHERE ${primaryKey.map((c) => `${c} = ?`).join(" AND ")}`,
      primaryKey.map((c) => key[c]),
    );
    if (entry.row_image !== null) {
      const image = JSON.parse(entry.row_image) as Record<string, unknown>;
      const columns = Object.keys(image);
      await tx.run(
        `INSERT INTO ${entry.table_name} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
        columns.map((c) => image[c]),
      );
    }
  }
  await tx.run("DELETE FROM reorg_journal WHERE block_number > ?", [ancestor]);
  for (const [table, column] of Object.entries(CREATED_IN)) {
    await tx.run(`DELETE FROM ${table} WHERE ${column} > ?`, [ancestor]);
  }
}

/** Empties every indexed table and the journal: the index of no block at all. */
export async function resetAll(tx: SqlRunner): Promise<void> {
  for (const table of [...INDEXED_TABLES, "reorg_journal"]) await tx.run(`DELETE FROM ${table}`);
}

function keyOf(table: string): readonly string[] {
  const key = PRIMARY_KEYS[table];
  if (key === undefined) throw new IndexerError("INDEXER_SCHEMA", `the reorg journal names an unknown table`);
  return key;
}
