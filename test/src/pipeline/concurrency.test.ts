import { expect } from "chai";
import { ethers } from "hardhat";
import { getAddress, type ContractTransactionResponse } from "ethers";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { verifyRecordAnchor } from "../../../src/pipeline";
import { NonceManager } from "../../../src/pipeline/nonce-manager";
import { KeyedQueue } from "../../../src/pipeline/twin-queue";
import { SourceKind } from "../../../src/vocabulary";
import { createTwinOf, EMR_CATEGORIES, twinFixture } from "../../fixtures";
import { TwinPipeline } from "../../../src/pipeline";
import {
  cohortSmall,
  newWallet,
  removeFolders,
  serviceFolders,
  withPatientChange,
  type Fixture,
  type ServiceFolders,
} from "./harness";

/** Twin A at `hospital` (the fixture's), twin B at `hospital2`, both written by the same EMR account. */
async function twoTwins() {
  const f = await loadFixture(twinFixture);
  const twinB = await createTwinOf(f.registry, f.guardian, "concurrency:twin-b", f.hospital2);
  await (
    await f.registry.connect(f.guardian).authorizeSource(twinB, f.emr.address, SourceKind.Emr, EMR_CATEGORIES)
  ).wait();
  return { f, twinA: f.twinId, twinB };
}

async function openPipeline(f: Fixture, folders: ServiceFolders): Promise<TwinPipeline> {
  const patientKey = newWallet();
  return TwinPipeline.open({
    updateLog: f.updateLog,
    vault: folders.vault,
    custodianKey: newWallet(),
    custodianSigner: f.hospital,
    custodianSigners: [f.hospital2],
    patientPublicKey: () => patientKey.signingKey.publicKey,
    indexFolder: folders.indexFolder,
    fsync: false,
  });
}

describe("pipeline/concurrency: writes serialized per twin, nonces managed per account", function () {
  let folders: ServiceFolders | undefined;
  afterEach(() => removeFolders(folders));

  it("ingests two twins at once from one EMR account; both anchor and commit, each from its custodian account", async () => {
    const { f, twinA, twinB } = await twoTwins();
    folders = await serviceFolders();
    const pipeline = await openPipeline(f, folders);
    const cohort = await cohortSmall();
    const [a, b] = await Promise.all([
      pipeline.ingestEmr(twinA, cohort.patients[0].emr, { sourceSigner: f.emr }),
      pipeline.ingestEmr(twinB, cohort.patients[1].emr, { sourceSigner: f.emr }),
    ]);
    for (const [summary, twinId] of [
      [a, twinA],
      [b, twinB],
    ] as const) {
      expect(summary.records).to.be.greaterThan(0);
      expect(summary.state, `twin ${twinId} committed`).to.not.equal(null);
      expect((await f.updateLog.twinStateOf(twinId)).stateRoot).to.equal(summary.version.stateRoot);
      const check = await verifyRecordAnchor(summary.anchors[0], { updateLog: f.updateLog, twinId });
      expect(check.valid, JSON.stringify(check)).to.equal(true);
    }
    // the two custodian accounts each committed their own twin
    const committer = async (hash: string) => getAddress((await ethers.provider.getTransaction(hash))!.from);
    expect(await committer(a.state!.transactionHash)).to.equal(f.hospital.address);
    expect(await committer(b.state!.transactionHash)).to.equal(f.hospital2.address);
    // the EMR account's two anchors went out with consecutive nonces
    const nonces = await Promise.all(
      [a.anchors[0].transactionHash, b.anchors[0].transactionHash].map(
        async (hash) => (await ethers.provider.getTransaction(hash))!.nonce,
      ),
    );
    expect(Math.abs(nonces[0] - nonces[1])).to.equal(1);
  });

  it("keeps one twin's writes in call order: a second ingest queued at once becomes version 2", async () => {
    const { f, twinA } = await twoTwins();
    folders = await serviceFolders();
    const pipeline = await openPipeline(f, folders);
    const bundle = (await cohortSmall()).patients[0].emr;
    const [first, second] = await Promise.all([
      pipeline.ingestEmr(twinA, bundle, { sourceSigner: f.emr }),
      pipeline.ingestEmr(twinA, withPatientChange(bundle, 1), { sourceSigner: f.emr }),
    ]);
    expect(first.version.version).to.equal(1);
    expect(second.version.version).to.equal(2);
    expect(second.records).to.equal(1); // only the changed Patient
    expect(BigInt(second.anchors[0].sequence)).to.be.greaterThan(BigInt(first.anchors[0].sequence));
    expect(second.state!.chainVersion).to.equal(first.state!.chainVersion + 1);
  });

  it("refuses a twin whose custodian is none of the service's accounts, before storing anything", async () => {
    const { f, twinB } = await twoTwins();
    folders = await serviceFolders();
    const patientKey = newWallet();
    const pipeline = await TwinPipeline.open({
      updateLog: f.updateLog,
      vault: folders.vault,
      custodianKey: newWallet(),
      custodianSigner: f.hospital,
      patientPublicKey: () => patientKey.signingKey.publicKey,
      indexFolder: folders.indexFolder,
      fsync: false,
    });
    const bundle = (await cohortSmall()).patients[1].emr;
    await expect(pipeline.ingestEmr(twinB, bundle, { sourceSigner: f.emr })).to.be.rejectedWith(
      /is not the custodian of twin/,
    );
    expect(pipeline.holding(twinB)).to.equal("unknown");
  });
});

describe("pipeline/concurrency: NonceManager", function () {
  it("hands out consecutive nonces to concurrent submissions of one account", async () => {
    const [, , , , , , , , , , , sender, receiver] = await ethers.getSigners();
    const nonces = new NonceManager();
    const start = await sender.getNonce("pending");
    const sent = await Promise.all(
      Array.from({ length: 5 }, () =>
        nonces.submit(sender, (nonce) => sender.sendTransaction({ to: receiver.address, value: 1n, nonce })),
      ),
    );
    expect(sent.map((tx) => tx.nonce).sort((x, y) => x - y)).to.deep.equal([0, 1, 2, 3, 4].map((i) => start + i));
    expect(nonces.busy(sender.address)).to.equal(0);
  });

  it("re-syncs with the node's pending count after a failed submission, and counts transactions sent outside it", async () => {
    const [, , , , , , , , , , , sender, receiver] = await ethers.getSigners();
    const nonces = new NonceManager();
    const send = (nonce: number) =>
      sender.sendTransaction({
        to: receiver.address,
        value: 1n,
        nonce,
      }) as unknown as Promise<ContractTransactionResponse>;
    const first = await nonces.submit(sender, send);
    // a submission that fails after taking a nonce (e.g. refused by the node) leaves no gap
    await expect(nonces.submit(sender, async () => Promise.reject(new Error("refused")))).to.be.rejectedWith("refused");
    const second = await nonces.submit(sender, send);
    expect(second.nonce).to.equal(first.nonce + 1);
    // a transaction of the same account sent around the manager is counted
    await (await sender.sendTransaction({ to: receiver.address, value: 1n })).wait();
    const third = await nonces.submit(sender, send);
    expect(third.nonce).to.equal(second.nonce + 2);
  });
});

describe("pipeline/concurrency: KeyedQueue", function () {
  it("runs one key's actions in order and different keys side by side, past a failure", async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    let releaseA!: () => void;
    const gateA = new Promise<void>((resolve) => (releaseA = resolve));
    const a1 = queue.run("a", async () => {
      await gateA;
      log.push("a1");
      throw new Error("a1 failed");
    });
    const a2 = queue.run("a", async () => void log.push("a2"));
    const b1 = queue.run("b", async () => void log.push("b1"));
    await b1; // b does not wait for a
    expect(log).to.deep.equal(["b1"]);
    releaseA();
    await expect(a1).to.be.rejectedWith("a1 failed");
    await a2;
    expect(log).to.deep.equal(["b1", "a1", "a2"]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.busy).to.equal(0);
  });
});
