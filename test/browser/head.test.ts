/**
 * The page's read point (app/src/head.ts): after an action, the views read at or after the action's block, even from
 * a node that still answers an older head (the browser test's flake: a view re-read before the block).
 */
import { expect } from "chai";
import { TransactionReceipt, type JsonRpcProvider } from "ethers";
import { ChainHead } from "../../app/src/head";

/** A node whose head is `heads[i]` at its i-th answer (the last one repeated), and whose receipts are `receipts`. */
function laggingNode(heads: number[], receipts: Record<string, { blockNumber: number; status: number }> = {}) {
  const asked: string[] = [];
  let i = 0;
  const provider = {
    async send(method: string, params: unknown[]) {
      asked.push(method);
      expect(method).to.equal("eth_getBlockByNumber");
      expect(params).to.deep.equal(["latest", false]);
      const number = heads[Math.min(i++, heads.length - 1)]!;
      return { number: `0x${number.toString(16)}`, timestamp: `0x${(1_000 + number).toString(16)}` };
    },
    async waitForTransaction(hash: string) {
      const r = receipts[hash];
      return r === undefined ? null : ({ ...r, hash } as unknown as TransactionReceipt);
    },
  };
  return { provider: provider as unknown as JsonRpcProvider, asked };
}

const fast = { timeoutMs: 2_000, pollMs: 5 };

describe("web app: the block a view reads at (app/src/head.ts)", () => {
  it("reads at the node's head, its time at least the clock's", async () => {
    const { provider } = laggingNode([7]);
    const at = await new ChainHead(provider, fast).at();
    expect(at.blockTag).to.equal(7);
    expect(at.timestamp).to.equal(1_007);
    expect(at.now).to.be.at.least(Math.floor(Date.now() / 1000) - 1);
  });

  it("after an action mined in block N, never reads before N: asks a lagging node again until it has caught up", async () => {
    const { provider, asked } = laggingNode([10, 11, 11, 12, 13], { "0xabc": { blockNumber: 12, status: 1 } });
    const head = new ChainHead(provider, fast);
    const receipt = await head.settle("0xabc");
    expect(receipt.blockNumber).to.equal(12);
    expect(head.seen).to.equal(12);
    const at = await head.at();
    expect(at.blockTag).to.equal(12);
    expect(asked.length).to.equal(4);
  });

  it("waits for a transaction response's own receipt and keeps the highest block seen", async () => {
    const { provider } = laggingNode([30]);
    const head = new ChainHead(provider, fast);
    await head.settle({ hash: "0x1", wait: async () => ({ blockNumber: 30, status: 1 }) as TransactionReceipt });
    head.saw(20);
    expect(head.seen).to.equal(30);
  });

  it("refuses a reverted or unmined transaction, and a node that never reaches the block", async () => {
    const { provider } = laggingNode([5], { "0xbad": { blockNumber: 6, status: 0 } });
    const head = new ChainHead(provider, { timeoutMs: 50, pollMs: 5 });
    await expectRejection(head.settle("0xbad"), /reverted in block 6/);
    await expectRejection(head.settle("0xnone"), /not mined/);
    head.saw(9);
    await expectRejection(head.at(), /not reached block 9/);
  });
});

async function expectRejection(promise: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect((error as Error).message).to.match(message);
    return;
  }
  expect.fail("expected a rejection");
}
