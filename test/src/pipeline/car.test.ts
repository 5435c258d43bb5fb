import { expect } from "chai";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PipelineError, TwinPipeline } from "../../../src/pipeline";
import { importCar } from "../../../src/store";
import { canonicalJson } from "../../../src/twin";
import { cohortSmall, countBlobs, removeFolders, reopenFolders, startService, type Service } from "./harness";

describe("pipeline/car: a twin's blobs exported as a CAR file and imported elsewhere", function () {
  this.timeout(120_000);
  let service: Service;
  let elsewhere: string;
  const opened: TwinPipeline[] = [];
  before(async () => {
    service = await startService({ batchPolicy: { maxReadings: 60, maxAgeMs: 60 * 60_000 } });
    opened.push(service.pipeline);
    elsewhere = await mkdtemp(join(tmpdir(), "twinledger-car-"));
  });
  after(async () => {
    for (const pipeline of opened) await pipeline.close();
    await removeFolders(service?.folders);
    await rm(elsewhere, { recursive: true, force: true });
  });

  it("exports every blob the index references; a pipeline over an empty blob store that imports it reads the same", async () => {
    const { pipeline, f, folders } = service;
    const patient = (await cohortSmall()).patients[1];
    await pipeline.ingestEmr(f.twinId, patient.emr, { sourceSigner: f.emr });
    const observations = (patient.wearable.entry ?? [])
      .map((e) => e.resource)
      .filter((r) => r?.resourceType === "Observation");
    await pipeline.ingestWearable(f.twinId, observations.slice(0, 130), { deviceSigner: f.wearable }); // batches
    await pipeline.ingestWearable(f.twinId, observations.slice(130, 140), { deviceSigner: f.wearable }); // an intake
    const anchors = pipeline.anchors(f.twinId);
    expect(anchors.batches.length).to.be.greaterThan(0);
    expect(pipeline.pendingReadings(f.twinId)).to.be.greaterThan(0);

    const carPath = join(elsewhere, "twin.car");
    const exported = await pipeline.exportBlobsCar(f.twinId, carPath);
    // every blob of the service is this twin's, and each is in the CAR once
    expect(exported.blocks).to.equal(await countBlobs(folders.blobs));
    expect(exported.blocks).to.equal(await pipeline.checkBlobs(f.twinId));

    // another service: the same index and keys, an empty blob store
    const root = join(elsewhere, "service");
    await cp(join(folders.root, "keys"), join(root, "keys"), { recursive: true });
    await cp(folders.indexFolder, join(root, "pipeline"), { recursive: true });
    const stores = reopenFolders(root);
    const open = () =>
      TwinPipeline.open({
        updateLog: f.updateLog,
        vault: stores.vault,
        custodianKey: service.custodianKey,
        custodianSigner: f.hospital,
        patientPublicKey: () => service.patientKey.signingKey.publicKey,
        indexFolder: stores.indexFolder,
        batchPolicy: pipeline.batchPolicy,
        clock: () => service.clock.now,
        fsync: false,
      });
    expect(await countBlobs(stores.blobs)).to.equal(0);
    await open().then(
      (p) => {
        opened.push(p);
        expect.fail("a pipeline without its blobs must not open");
      },
      (error: unknown) => expect(error).to.be.an("error"),
    );

    const imported = await importCar(carPath, stores.blobs);
    expect(imported).to.have.length(exported.blocks);
    const second = await open();
    opened.push(second);
    expect(second.version(f.twinId).version.stateRoot).to.equal(pipeline.version(f.twinId).version.stateRoot);
    expect(canonicalJson(await second.records(f.twinId, 0xffffffff))).to.equal(
      canonicalJson(await pipeline.records(f.twinId, 0xffffffff)),
    );
    expect(canonicalJson(await second.readings(f.twinId, {}))).to.equal(
      canonicalJson(await pipeline.readings(f.twinId, {})),
    );
    expect(second.pendingReadings(f.twinId)).to.equal(pipeline.pendingReadings(f.twinId));
    expect(await second.checkBlobs(f.twinId)).to.equal(exported.blocks);
  });

  it("refuses a twin it does not hold (TWIN_UNKNOWN), writing nothing", async () => {
    const path = join(elsewhere, "none.car");
    const error = await service.pipeline.exportBlobsCar(`0x${"ab".repeat(32)}`, path).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(PipelineError);
    expect((error as PipelineError).code).to.equal("TWIN_UNKNOWN");
  });
});
