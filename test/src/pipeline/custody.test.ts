import { expect } from "chai";
import { TwinPipeline, verifyStateAnchor } from "../../../src/pipeline";
import {
  cohortSmall,
  newWallet,
  removeFolders,
  serviceFolders,
  startService,
  type Service,
  type ServiceFolders,
} from "./harness";

describe("pipeline/custody: chain versions per custodian epoch", function () {
  let service: Service;
  let second: ServiceFolders | undefined;
  beforeEach(async () => {
    service = await startService();
  });
  afterEach(async () => {
    await removeFolders(service?.folders);
    await removeFolders(second);
    second = undefined;
  });

  it("a new custodian's pipeline commits chain version 1 of epoch 2, and both epochs' anchors verify", async () => {
    const { pipeline, f, patientKey } = service;
    const emr = (await cohortSmall()).patients[1].emr;
    const first = await pipeline.ingestEmr(f.twinId, emr, { sourceSigner: f.emr });
    expect(first.state).to.include({ version: 1, chainVersion: 1, epoch: 1 });
    const again = await pipeline.ingestEmr(f.twinId, emr, { sourceSigner: f.emr });
    expect(again.state).to.include({ version: 2, chainVersion: 2, epoch: 1 });

    await (await f.registry.connect(f.patient).changeCustodian(f.twinId, f.hospital2.address)).wait();
    second = await serviceFolders();
    const other = await TwinPipeline.open({
      updateLog: f.updateLog,
      vault: second.vault,
      custodianKey: newWallet(),
      custodianSigner: f.hospital2,
      patientPublicKey: () => patientKey.signingKey.publicKey,
      indexFolder: second.indexFolder,
      fsync: false,
    });
    const moved = await other.ingestEmr(f.twinId, emr, { sourceSigner: f.emr });
    expect(moved.state).to.include({ version: 1, chainVersion: 1, epoch: 2 });
    const onChain = await f.updateLog.twinStateOf(f.twinId);
    expect([onChain.epoch, onChain.version, onChain.custodian]).to.deep.equal([2n, 1n, f.hospital2.address]);
    const next = await other.ingestEmr(f.twinId, emr, { sourceSigner: f.emr });
    expect(next.state).to.include({ version: 2, chainVersion: 2, epoch: 2 });

    const access = { updateLog: f.updateLog, twinId: f.twinId };
    for (const state of [first.state, again.state, moved.state, next.state]) {
      expect((await verifyStateAnchor(state!, access)).valid).to.equal(true);
    }
  });

  it("a failed commit is caught up by commit() and by the next ingest, under the next chain version", async () => {
    const { pipeline, f } = service;
    const emr = (await cohortSmall()).patients[1].emr;
    await pipeline.ingestEmr(f.twinId, emr, { sourceSigner: f.emr });
    const send = f.hospital.sendTransaction.bind(f.hospital);
    const failing = async <T>(action: () => Promise<T>): Promise<T> => {
      f.hospital.sendTransaction = async () => {
        throw new Error("the node went away");
      };
      try {
        return await action();
      } finally {
        f.hospital.sendTransaction = send;
      }
    };

    const missed = await failing(() => pipeline.ingestEmr(f.twinId, emr, { sourceSigner: f.emr }));
    expect(missed.state).to.equal(null);
    expect(missed.commitError?.code).to.equal("ANCHOR_FAILED");
    expect(pipeline.version(f.twinId).anchor).to.equal(null);
    const caughtUp = await pipeline.commit(f.twinId);
    expect(caughtUp).to.include({ version: 2, chainVersion: 2, epoch: 1 });

    await failing(() => pipeline.ingestEmr(f.twinId, emr, { sourceSigner: f.emr }));
    const later = await pipeline.ingestEmr(f.twinId, emr, { sourceSigner: f.emr });
    expect(later.state).to.include({ version: 4, chainVersion: 3, epoch: 1 });
    expect((await f.updateLog.twinStateOf(f.twinId)).stateRoot).to.equal(later.version.stateRoot);
    expect(pipeline.anchors(f.twinId).states.map((s) => [s.version, s.chainVersion])).to.deep.equal([
      [1, 1],
      [2, 2],
      [4, 3],
    ]);
  });
});
