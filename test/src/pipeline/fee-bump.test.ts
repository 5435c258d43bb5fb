import { expect } from "chai";
import { ethers, network } from "hardhat";
import type { TransactionResponse } from "ethers";
import { bumpedFees, refusalOf, settleReplacing, type Fees } from "../../../src/pipeline/fee-bump";

const send = (method: string, params: unknown[] = []) => network.provider.send(method, params);
const GWEI = 10n ** 9n;
const none = { maxFeePerGas: null, maxPriorityFeePerGas: null, gasPrice: null };

/** The error a promise rejects with. */
async function failure(run: Promise<unknown>): Promise<unknown> {
  return run.then(
    () => null,
    (e: unknown) => e,
  );
}

describe("pipeline/fee-bump", function () {
  this.timeout(60_000);

  describe("bumpedFees", () => {
    it("raises both EIP-1559 fees by the bump, rounded up, or to the node's suggestion when higher", () => {
      const last = { maxFeePerGas: 1_000n, maxPriorityFeePerGas: 101n };
      expect(bumpedFees(last, none, 12.5, 10n ** 18n)).to.deep.equal({
        maxFeePerGas: 1_125n,
        maxPriorityFeePerGas: 114n,
      });
      const suggested = { maxFeePerGas: 5_000n, maxPriorityFeePerGas: 50n, gasPrice: 4_000n };
      expect(bumpedFees(last, suggested, 12.5, 10n ** 18n)).to.deep.equal({
        maxFeePerGas: 5_000n,
        maxPriorityFeePerGas: 114n,
      });
    });

    it("legacy gasPrice likewise", () => {
      expect(bumpedFees({ gasPrice: 800n }, none, 25, 10n ** 18n)).to.deep.equal({ gasPrice: 1_000n });
      expect(bumpedFees({ gasPrice: 800n }, { ...none, gasPrice: 2_000n }, 25, 10n ** 18n)).to.deep.equal({
        gasPrice: 2_000n,
      });
    });

    it("clamps a suggestion to the cap, and gives null when even the least bump passes it", () => {
      const last = { maxFeePerGas: 1_000n, maxPriorityFeePerGas: 100n };
      const suggested = { maxFeePerGas: 9_000n, maxPriorityFeePerGas: 100n, gasPrice: null };
      expect(bumpedFees(last, suggested, 12.5, 2_000n)).to.deep.equal({
        maxFeePerGas: 2_000n,
        maxPriorityFeePerGas: 113n,
      });
      expect(bumpedFees(last, suggested, 12.5, 1_100n)).to.equal(null);
      expect(bumpedFees({ gasPrice: 1_000n }, none, 12.5, 1_124n)).to.equal(null);
    });
  });

  describe("against Hardhat's mempool (automine off)", () => {
    afterEach(async () => {
      await send("evm_setIntervalMining", [0]);
      await send("evm_setAutomine", [true]);
    });

    it("names the node's refusals: underpriced, nonce too low", async () => {
      const [, , , , , , , , , , , , , , account] = await ethers.getSigners();
      await send("evm_setAutomine", [false]);
      const fees = { maxFeePerGas: 10n * GWEI, maxPriorityFeePerGas: GWEI };
      const tx = await account.sendTransaction({ to: account.address, ...fees });
      const under = await failure(
        account.sendTransaction({
          to: account.address,
          nonce: tx.nonce,
          maxFeePerGas: (fees.maxFeePerGas * 105n) / 100n,
          maxPriorityFeePerGas: (fees.maxPriorityFeePerGas * 105n) / 100n,
        }),
      );
      expect(refusalOf(under)).to.equal("underpriced");
      await send("evm_mine");
      const low = await failure(account.sendTransaction({ to: account.address, nonce: tx.nonce, ...fees }));
      expect(refusalOf(low)).to.equal("nonce too low");
      expect(refusalOf(new Error("connect ECONNREFUSED 127.0.0.1:8545"))).to.equal(null);
    });

    it("settleReplacing: a journal whose fees are below the pending send's: refused as underpriced, bumped from the refused fees, mined", async () => {
      const [, , , , , , , , , , , , , , , account] = await ethers.getSigners();
      await send("evm_setAutomine", [false]);
      await send("hardhat_setNextBlockBaseFeePerGas", [`0x${(10n * GWEI).toString(16)}`]);
      await send("evm_mine");
      // below the base fee, with the node's usual tip; the journal says less than was sent
      const actual = { maxFeePerGas: 2n * GWEI, maxPriorityFeePerGas: GWEI };
      const first = await account.sendTransaction({ to: account.address, ...actual });
      const hashes: string[] = [first.hash];
      const tried: Fees[] = [];
      let journaled: Fees = { maxFeePerGas: GWEI, maxPriorityFeePerGas: GWEI / 2n };
      await send("evm_setIntervalMining", [200]);
      const settled = await settleReplacing(
        ethers.provider,
        {
          source: account.address,
          nonce: first.nonce,
          hashes: () => hashes,
          lastFees: () => journaled,
          firstFees: () => undefined,
          replacements: () => tried.length,
          replace: async (fees) => {
            tried.push(fees);
            journaled = fees;
            const response: TransactionResponse = await account.sendTransaction({
              to: account.address,
              nonce: first.nonce,
              ...fees,
            });
            hashes.push(response.hash);
          },
        },
        { timeoutMs: 300, pollMs: 50 },
        { maxReplacements: 3, maxFeePerGas: 100n * GWEI },
      );
      expect(settled.state).to.equal("mined");
      expect(settled.receipt?.hash).to.equal(hashes[hashes.length - 1]);
      expect(hashes.length).to.equal(2); // one refused (the suggested tip equals the pending one's), then one taken
      expect(tried.length).to.equal(2);
      expect(tried[1].maxFeePerGas as bigint).to.be.at.least(((tried[0].maxFeePerGas as bigint) * 1125n) / 1000n);
      expect(tried[1].maxPriorityFeePerGas as bigint).to.be.at.least((actual.maxPriorityFeePerGas * 1125n) / 1000n);
    });
  });
});
