import type { ChainReader } from "./chain";
import type { SqlRunner } from "./store/store";

/** A block the index holds and the chain still has: where a rollback stops. */
export interface StoredBlock {
  readonly blockNumber: number;
  readonly blockHash: string;
  readonly blockTimestamp: number;
}

interface BlockRow {
  block_number: number;
  block_hash: string;
  block_timestamp: number;
}

/**
 * The newest block of `blocks` (the hashes of the indexed blocks) that the chain still has, or null when the chain
 * replaced every one of them.
 *
 * Whether a stored block is still on the chain is monotone in its height: if the chain's block at height h has the
 * stored hash, it has the same ancestors, so every stored block below h is on it too (each range was checked to
 * be one chain when it was indexed). So the search gallops back from the newest stored block (1, 2, 4, ... rows)
 * to the first that matches, then bisects between it and the last mismatch: O(log depth) block reads for a reorg
 * of any depth. Blocks without a stored hash between two stored ones are re-indexed from the ancestor on.
 */
export async function findCommonAncestor(db: SqlRunner, chain: ChainReader): Promise<StoredBlock | null> {
  const count = (await db.get<{ n: number }>("SELECT COUNT(*) AS n FROM blocks"))?.n ?? 0;
  const at = async (offset: number): Promise<BlockRow> => {
    const row = await db.get<BlockRow>(
      "SELECT block_number, block_hash, block_timestamp FROM blocks ORDER BY block_number DESC LIMIT 1 OFFSET ?",
      [offset],
    );
    if (!row) throw new Error("the stored blocks changed during the ancestor search");
    return row;
  };
  const onChain = async (row: BlockRow): Promise<boolean> => (await chain.hashAt(row.block_number)) === row.block_hash;

  let mismatch = -1; // the largest offset known to be off the chain
  let found: number | null = null; // an offset known to be on it
  for (let offset = 0, step = 1; offset < count; offset += step, step *= 2) {
    if (await onChain(await at(offset))) {
      found = offset;
      break;
    }
    mismatch = offset;
  }
  if (found === null) {
    if (mismatch === count - 1 || count === 0) return null;
    if (!(await onChain(await at(count - 1)))) return null;
    found = count - 1;
  }
  // The smallest matching offset lies in (mismatch, found].
  while (found - mismatch > 1) {
    const middle = Math.floor((mismatch + found) / 2);
    if (await onChain(await at(middle))) found = middle;
    else mismatch = middle;
  }
  const row = await at(found);
  return { blockNumber: row.block_number, blockHash: row.block_hash, blockTimestamp: row.block_timestamp };
}
