import { TransactionReceipt, type JsonRpcProvider } from "ethers";

/**
 * The one place where the page decides which block it reads the chain at (the page's counterpart of the gateway's
 * src/service/head-follower.ts).
 *
 * Every view reads at one block, its `ReadPoint`: the node's head asked through `provider.send` (no ethers cache in
 * front of it), and never a block before one the page has seen mined. After an action, `settle` waits for the
 * transaction's receipt and records its block, so the views re-read after it show the action's effect: a node that
 * answers an older head (a lagging node behind a load balancer) is asked again until it has caught up.
 */

/** The block a view reads the chain at. */
export interface ReadPoint {
  /** The block's number: the `blockTag` of every read of the view. */
  readonly blockTag: number;
  /** The block's timestamp, unix seconds. */
  readonly timestamp: number;
  /** Unix seconds: the later of the block's time and the clock (terms and windows are judged against it). */
  readonly now: number;
}

/** What an action hands back: a transaction (sent by the page), its receipt, or the hash of one sent for it. */
export type Sent =
  { readonly hash: string; wait?: () => Promise<TransactionReceipt | null> } | TransactionReceipt | string;

interface RpcBlock {
  readonly number?: string;
  readonly timestamp?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ChainHead {
  private floor = 0;

  constructor(
    private readonly provider: JsonRpcProvider,
    private readonly options: { readonly timeoutMs: number; readonly pollMs: number } = {
      timeoutMs: 120_000,
      pollMs: 250,
    },
  ) {}

  /** The highest block the page has seen mined (a receipt's). */
  get seen(): number {
    return this.floor;
  }

  /** Records a block the page knows is mined: every later read is at or after it. */
  saw(blockNumber: number): void {
    this.floor = Math.max(this.floor, blockNumber);
  }

  /** The node's head, asked now, once it is at or after every block the page has seen. */
  async at(): Promise<ReadPoint> {
    const deadline = Date.now() + this.options.timeoutMs;
    for (;;) {
      const block = (await this.provider.send("eth_getBlockByNumber", ["latest", false])) as RpcBlock | null;
      const number = block?.number === undefined ? -1 : Number(block.number);
      if (number >= this.floor) {
        const timestamp = Number(block!.timestamp ?? 0);
        return { blockTag: number, timestamp, now: Math.max(timestamp, Math.floor(Date.now() / 1000)) };
      }
      if (Date.now() > deadline) throw new Error(`the node has not reached block ${this.floor} yet`);
      await sleep(this.options.pollMs);
    }
  }

  /** Waits for an action's receipt (a revert throws) and records its block; the page's reads are then at or after it. */
  async settle(sent: Sent): Promise<TransactionReceipt> {
    let receipt: TransactionReceipt | null;
    if (sent instanceof TransactionReceipt) receipt = sent;
    else if (typeof sent !== "string" && typeof sent.wait === "function") receipt = await sent.wait();
    else {
      const hash = typeof sent === "string" ? sent : sent.hash;
      receipt = await this.provider.waitForTransaction(hash, 1, this.options.timeoutMs);
    }
    if (receipt === null) throw new Error("the transaction was not mined in time");
    if (receipt.status === 0) throw new Error(`the transaction reverted in block ${receipt.blockNumber}`);
    this.saw(receipt.blockNumber);
    return receipt;
  }
}
