import type { Provider } from "ethers";
import { IndexerError } from "./errors";

/** The provider calls the indexer makes; any ethers v6 `Provider` has them. */
export type IndexerProvider = Pick<Provider, "getBlockNumber" | "getBlock" | "getLogs" | "getNetwork">;

/** A block as the indexer keeps it. */
export interface BlockRef {
  readonly hash: string;
  readonly timestamp: number;
}

/** The block reads of the indexer: one block, its hash, or many blocks with bounded parallelism. */
export class ChainReader {
  constructor(
    private readonly provider: IndexerProvider,
    private readonly concurrency: number,
  ) {}

  /**
   * The chain's block at this height.
   * @throws IndexerError `INDEXER_REORG` when the chain has no block there (any more).
   */
  async block(blockNumber: number): Promise<BlockRef> {
    const block = await this.provider.getBlock(blockNumber);
    if (!block || block.hash === null) throw reorg(`block ${blockNumber} is not on the chain`);
    return { hash: block.hash, timestamp: block.timestamp };
  }

  /** The hash of the chain's block at this height, or null when the chain is shorter. */
  async hashAt(blockNumber: number): Promise<string | null> {
    const block = await this.provider.getBlock(blockNumber);
    return block?.hash ?? null;
  }

  /** The blocks at these heights, at most `concurrency` reads at a time. */
  async blocks(numbers: readonly number[]): Promise<Map<number, BlockRef>> {
    const found = new Map<number, BlockRef>();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < numbers.length) {
        const blockNumber = numbers[next++];
        found.set(blockNumber, await this.block(blockNumber));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, numbers.length) }, worker));
    return found;
  }
}

export function reorg(message: string): IndexerError {
  return new IndexerError("INDEXER_REORG", message);
}
