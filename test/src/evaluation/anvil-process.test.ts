import { expect } from "chai";
import { JsonRpcProvider } from "ethers";
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
});
