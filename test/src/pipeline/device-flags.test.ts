import { expect } from "chai";
import { commit } from "../../../src/chain/commitments";
import { deployResearch } from "../../../src/chain/deploy-research";
import type { VitalReading } from "../../../src/fhir/records";
import { DeviceFlagFollower, type TwinPipeline } from "../../../src/pipeline";
import type { TwinVersion } from "../../../src/twin";
import { DataCategory } from "../../../src/vocabulary";
import type { DeviceRegistry } from "../../../typechain-types";
import { cohortSmall, removeFolders, startService, type Service } from "./harness";

/**
 * Issue 15, device provenance through the pipeline: a wearable reading carries the device it came from (the device
 * signer's address, its DeviceRegistry id), and a flag set on chain sets the device's readings aside in the versions
 * answers use, without changing what was committed.
 */

const RECALL = 1; // IDeviceRegistry.FlagReason.Recall

const allReadings = (version: TwinVersion): VitalReading[] => Object.values(version.readings).flat();

describe("pipeline/device provenance", function () {
  let service: Service;
  let devices: DeviceRegistry;
  let committed: TwinVersion;
  let wearableCount: number;

  before(async () => {
    const cohort = await cohortSmall();
    service = await startService({
      deviceRegistry: async (f) => {
        const research = await deployResearch({
          deployer: f.admin,
          registry: await f.registry.getAddress(),
          manufacturers: [f.stranger.address],
        });
        devices = research.devices;
        const c = (text: string) => commit(text).commitment;
        await (
          await devices.connect(f.stranger).registerDevice(f.wearable.address, c("model"), c("fw"), c("calibration"))
        ).wait();
        return devices;
      },
    });
    const { pipeline, f } = service;
    const patient = cohort.patients[1];
    await pipeline.ingestEmr(f.twinId, patient.emr, { sourceSigner: f.emr });
    const received = await pipeline.ingestWearable(f.twinId, patient.wearable, { deviceSigner: f.wearable });
    expect(received.flushed).to.not.equal(null);
    committed = pipeline.version(f.twinId).version;
    wearableCount = allReadings(committed).filter((r) => r.category === DataCategory.WEARABLE_STREAMS).length;
  });
  after(() => removeFolders(service?.folders));

  it("a wearable reading carries the address of the device that anchored it", async () => {
    const { pipeline, f } = service;
    expect(wearableCount).to.be.greaterThan(100);
    for (const reading of allReadings(committed)) {
      if (reading.category === DataCategory.WEARABLE_STREAMS) expect(reading.source).to.equal(f.wearable.address);
      else expect(reading.source).to.not.equal(f.wearable.address);
    }
    const proven = (await pipeline.readings(f.twinId, {})).filter((p) => p.anchor !== null);
    expect(proven).to.have.length(wearableCount);
    for (const p of proven) expect(p.reading.source).to.equal(p.anchor!.source);
    expect(committed.setAside).to.equal(undefined);
  });

  it("a flag read from chain sets the device's readings aside; the committed version is unchanged", async () => {
    const { pipeline, f } = service;
    const anchor = pipeline.version(f.twinId).anchor;
    await (await devices.connect(f.hospital).flagDeviceAsCustodian(f.twinId, f.wearable.address, RECALL)).wait();
    const update = await pipeline.refreshDeviceFlags();
    expect(update).to.deep.equal({ devices: [f.wearable.address], twins: 1, signs: update.signs });
    expect(update.signs).to.be.greaterThan(0);
    expect(pipeline.flaggedDevices).to.deep.equal([f.wearable.address]);

    const { version, anchor: after } = pipeline.version(f.twinId);
    expect(after).to.deep.equal(anchor);
    expect(version.stateRoot).to.equal(committed.stateRoot);
    expect(version.setAside?.flaggedDevice).to.equal(wearableCount);
    expect(version.setAside?.devices).to.deep.equal([f.wearable.address]);
    expect(allReadings(version).some((r) => r.source === f.wearable.address)).to.equal(false);
    expect(allReadings(version).length).to.equal(allReadings(committed).length - wearableCount);
    // the alerts answers see are those of the other readings only
    expect(pipeline.alerts(f.twinId)).to.deep.equal(version.model.alerts);
    expect(version.model.alerts.length).to.be.at.most(committed.model.alerts.length);
    // a second refresh with nothing new changes nothing
    expect(await pipeline.refreshDeviceFlags()).to.deep.equal({ devices: [f.wearable.address], twins: 0, signs: 0 });
  });

  it("a restarted pipeline replays the same roots and sets the readings aside again once it reads the flags", async () => {
    const { f } = service;
    let restarted: TwinPipeline | undefined;
    try {
      restarted = await service.restart();
      expect(restarted.version(f.twinId).version.stateRoot).to.equal(committed.stateRoot);
      expect(restarted.version(f.twinId).version.setAside).to.equal(undefined);
      await restarted.refreshDeviceFlags();
      expect(restarted.version(f.twinId).version.setAside?.flaggedDevice).to.equal(wearableCount);
    } finally {
      await restarted?.close();
    }
  });

  it("clearing the flag on chain restores the readings", async () => {
    const { pipeline, f } = service;
    await (await devices.connect(f.hospital).clearFlag(f.wearable.address)).wait();
    const update = await pipeline.refreshDeviceFlags();
    expect(update.devices).to.deep.equal([]);
    expect(update.twins).to.equal(1);
    const { version } = pipeline.version(f.twinId);
    expect(version.setAside).to.equal(undefined);
    expect(version.model).to.deep.equal(committed.model);
  });

  it("the follower folds flags and clears in chain order, reading only new blocks", async () => {
    const { f } = service;
    const follower = new DeviceFlagFollower(devices);
    expect((await follower.refresh()).devices).to.deep.equal([]); // flagged, then cleared
    await (await devices.connect(f.stranger).flagDevice(f.wearable.address, RECALL)).wait();
    const flagged = await follower.refresh();
    expect(flagged).to.include({ changed: true });
    expect(flagged.devices).to.deep.equal([f.wearable.address]);
    expect(await follower.refresh()).to.include({ changed: false });
    await (await devices.connect(f.stranger).clearFlag(f.wearable.address)).wait();
    expect((await follower.refresh()).devices).to.deep.equal([]);
  });

  it("followDeviceFlags refreshes now and then on a timer until close", async () => {
    const { f } = service;
    const restarted = await service.restart();
    try {
      expect((await restarted.followDeviceFlags(100)).devices).to.deep.equal([]);
      await (await devices.connect(f.stranger).flagDevice(f.wearable.address, RECALL)).wait();
      for (let i = 0; i < 50 && restarted.flaggedDevices.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(restarted.flaggedDevices).to.deep.equal([f.wearable.address]);
      expect(restarted.version(f.twinId).version.setAside?.flaggedDevice).to.equal(wearableCount);
    } finally {
      await restarted.close();
      await (await devices.connect(f.stranger).clearFlag(f.wearable.address)).wait();
    }
  });

  it("refuses to refresh without a DeviceRegistry", async () => {
    const other = await startService();
    try {
      await other.pipeline.refreshDeviceFlags().then(
        () => expect.fail("refreshed"),
        (error: { code?: string }) => expect(error.code).to.equal("INVALID_OPTIONS"),
      );
    } finally {
      await removeFolders(other.folders);
    }
  });
});
