import { expect } from "chai";
import { ethers } from "hardhat";
import { indexedFixture, indexerFor, describeEachBackend } from "./harness";

describeEachBackend("indexer: gateway access-log anchors", () => {
  it("indexes AccessLogAnchored per operator, by first index, exactly once", async () => {
    const f = await indexedFixture();
    const { updateLog, hospital, hospital2 } = f;
    const indexer = await indexerFor(f);

    await (await updateLog.connect(hospital).anchorAccessLog(ethers.id("root-2"), 10, 19)).wait();
    await (await updateLog.connect(hospital).anchorAccessLog(ethers.id("root-1"), 0, 9)).wait();
    await (await updateLog.connect(hospital2).anchorAccessLog(ethers.id("root-1"), 0, 4)).wait();
    await indexer.syncOnce();
    await indexer.syncOnce();

    const anchors = await indexer.accessLogAnchorsOf(hospital.address.toLowerCase());
    expect(anchors.map((a) => [a.operator, a.root, a.fromIndex, a.toIndex])).to.deep.equal([
      [hospital.address, ethers.id("root-1"), 0n, 9n],
      [hospital.address, ethers.id("root-2"), 10n, 19n],
    ]);
    const events = await updateLog.queryFilter(updateLog.filters.AccessLogAnchored(hospital.address));
    expect(anchors.map((a) => a.position.transactionHash).sort()).to.deep.equal(
      events.map((e) => e.transactionHash).sort(),
    );
    expect(await indexer.accessLogAnchorsOf(hospital2.address)).to.have.length(1);
    expect(await indexer.accessLogAnchorsOf(f.stranger.address)).to.deep.equal([]);
    await expect(indexer.accessLogAnchorsOf("not-an-address")).to.be.rejectedWith(/operator must be an address/);
    await indexer.close();
  });
});
