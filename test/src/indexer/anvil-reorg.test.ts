import { expect } from "chai";
import { ethers, JsonRpcProvider, type JsonRpcSigner } from "ethers";
import { deployTwinLedger } from "../../../src/chain/deploy";
import { anvilBinary, startAnvil, type AnvilNode } from "../../../src/evaluation/anvil-process";
import { SourceKind, DataCategory, TwinStatus } from "../../../src/vocabulary";
import { describeEachBackend, expectSameAsFromScratch, indexerFor } from "./harness";
import { EMR_CATEGORIES, METADATA, TWIN_SALT } from "../../fixtures";
import { twinIdOf } from "../../../src/chain/twin-id";

/**
 * Reorgs made by anvil itself (`anvil_reorg`: the last `depth` blocks replaced by new ones at the same heights),
 * on a node in its own process on 127.0.0.1, stopped after the suite. Skipped where anvil is not installed.
 */
describeEachBackend("indexer: reorgs made by anvil (anvil_reorg)", () => {
  let node: AnvilNode | undefined;
  let provider: JsonRpcProvider;

  before(async function () {
    if (anvilBinary() === null) this.skip();
    node = await startAnvil();
    provider = new JsonRpcProvider(node.url, undefined, { staticNetwork: true, cacheTimeout: -1, batchMaxCount: 1 });
  });

  after(async () => {
    provider?.destroy();
    await node?.stop();
  });

  /** The contracts on anvil with a twin, its EMR source and a grant; the indexer's options for them. */
  async function deployment() {
    const signers: JsonRpcSigner[] = await Promise.all([0, 1, 6, 7, 8].map((i) => provider.getSigner(i)));
    const [admin, hospital, patient, emr, clinician] = signers;
    const { registry, consent, updateLog, contracts } = await deployTwinLedger({
      deployer: admin,
      adminDelay: 0,
      governance: [admin.address],
    });
    const wait = async (tx: Promise<{ wait(): Promise<unknown> }>) => (await tx).wait();
    await wait(registry.grantRole(await registry.CUSTODIAN_ROLE(), hospital.address));
    await wait(registry.connect(patient).createTwin(TWIN_SALT, METADATA, hospital.address));
    const twinId = twinIdOf(patient.address, TWIN_SALT);
    await wait(registry.connect(patient).authorizeSource(twinId, emr.address, SourceKind.Emr, EMR_CATEGORIES));
    const addresses = {
      registry: await registry.getAddress(),
      consent: await consent.getAddress(),
      updateLog: await updateLog.getAddress(),
    };
    const f = { addresses, startBlock: contracts[0].receipt.blockNumber };
    return { f, registry, consent, updateLog, twinId, patient, emr, clinician, wait };
  }

  it("rolls anvil_reorg back at depth 5 and depth 1; the index equals a from-scratch index of the new chain", async () => {
    const d = await deployment();
    const indexer = await indexerFor(d.f, { provider });
    await indexer.syncOnce();
    for (const label of ["a", "b", "c", "d"]) {
      await d.wait(
        d.updateLog.connect(d.emr).recordUpdate(d.twinId, DataCategory.LABS, ethers.id(label), ethers.id(label)),
      );
    }
    await d.wait(d.registry.connect(d.patient).suspendTwin(d.twinId));
    await indexer.syncOnce();
    const replaced = await indexer.checkpoint();
    expect((await indexer.twin(d.twinId))?.status).to.equal(TwinStatus.Suspended);
    expect(await indexer.updateCount(d.twinId)).to.equal(4);

    // Depth 5: the four updates and the suspension are gone; one other update takes their place.
    const other = d.updateLog.interface.encodeFunctionData("recordUpdate", [
      d.twinId,
      DataCategory.LABS,
      ethers.id("other"),
      ethers.id("other"),
    ]);
    await node?.reorg(5, [[{ from: d.emr.address, to: d.f.addresses.updateLog, data: other }, 1]]);
    expect(await provider.getBlockNumber()).to.equal(replaced.blockNumber);
    const result = await indexer.syncOnce();
    expect(result.reorg).to.deep.equal({
      replacedCheckpoint: replaced.blockNumber,
      ancestor: replaced.blockNumber - 5,
      rebuilt: false,
    });
    expect((await indexer.twin(d.twinId))?.status).to.equal(TwinStatus.Active);
    expect((await indexer.updatesOf(d.twinId)).map((u) => u.kind === "update" && u.cid)).to.deep.equal([
      ethers.id("other"),
    ]);
    await expectSameAsFromScratch(indexer, d.f, { provider });

    // Depth 1: the last block replaced by an empty one.
    await d.wait(d.registry.connect(d.patient).updateMetadata(d.twinId, ethers.id("metadata-2")));
    await indexer.syncOnce();
    await node?.reorg(1, []);
    expect((await indexer.syncOnce()).reorg?.ancestor).to.equal((await provider.getBlockNumber()) - 1);
    expect((await indexer.twin(d.twinId))?.metadataCommitment).to.equal(METADATA);
    await expectSameAsFromScratch(indexer, d.f, { provider });
    await indexer.close();
  });
});
