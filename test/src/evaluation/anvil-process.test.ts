import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { anvilBinary, startAnvil } from "../../../src/evaluation/anvil-process";

describe("evaluation: anvil beside hardhat node", () => {
  it("starts anvil on a free 127.0.0.1 port, reorganizes its chain on demand, and stops it", async function () {
    if (anvilBinary() === null) this.skip();
    const node = await startAnvil({ accounts: 12 });
    const provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    try {
      expect(node.url).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await provider.getNetwork()).chainId).to.equal(31337n);
      expect(await provider.listAccounts()).to.have.length(12);
      await provider.send("anvil_mine", ["0x3"]);
      const [kept, before] = [await provider.getBlock(1), await provider.getBlock(3)];
      await node.reorg(2);
      const after = await provider.getBlock(3);
      expect(await provider.getBlockNumber()).to.equal(3);
      expect(after?.hash).to.not.equal(before?.hash);
      expect((await provider.getBlock(1))?.hash).to.equal(kept?.hash);
    } finally {
      provider.destroy();
      await node.stop();
    }
    let refused = false;
    await fetch(node.url, { method: "POST", body: "{}", signal: AbortSignal.timeout(2000) }).catch(() => {
      refused = true;
    });
    expect(refused, "anvil still answers after stop()").to.equal(true);
  });

  // Regression: anvil persisted the states of past blocks to ~/.foundry/anvil/tmp and left them there when stopped
  // (53 GB after a day of evaluations and tests filled the disk mid-run).
  it("keeps the states anvil persists in a folder of its own, removed when it stops", async function () {
    if (anvilBinary() === null) this.skip();
    this.timeout(60_000);
    const shared = join(homedir(), ".foundry", "anvil", "tmp");
    const sharedBefore = existsSync(shared) ? readdirSync(shared).length : 0;
    const node = await startAnvil({ accounts: 2 });
    const provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    try {
      expect(existsSync(node.statesFolder)).to.equal(true);
      await provider.send("anvil_mine", ["0x258"]); // 600 blocks: past what anvil keeps in memory
      expect(await provider.getBlockNumber()).to.equal(600);
    } finally {
      provider.destroy();
      await node.stop();
    }
    expect(existsSync(node.statesFolder)).to.equal(false);
    expect(existsSync(shared) ? readdirSync(shared).length : 0).to.be.at.most(sharedBefore);
  });

  it("keeps only the states of recent blocks with pruneHistory: latest answered, older refused, nothing on disk", async function () {
    if (anvilBinary() === null) this.skip();
    this.timeout(60_000);
    const node = await startAnvil({ accounts: 2, pruneHistory: 8 });
    const provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    try {
      const [account] = await provider.listAccounts();
      await provider.send("anvil_mine", ["0x258"]);
      expect(await provider.getBalance(account.address, "latest")).to.be.greaterThan(0n);
      expect(await provider.getBalance(account.address, 599)).to.be.greaterThan(0n);
      let refused = false;
      await provider.getBalance(account.address, 1).catch(() => {
        refused = true;
      });
      expect(refused, "a state 599 blocks back is still answered").to.equal(true);
      expect(readdirSync(node.statesFolder)).to.deep.equal([]);
    } finally {
      provider.destroy();
      await node.stop();
    }
  });
});
