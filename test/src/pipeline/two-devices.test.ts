import { expect } from "chai";
import { PipelineError } from "../../../src/pipeline";
import { DataCategory, SourceKind } from "../../../src/vocabulary";
import { cohortSmall, removeFolders, startService, type Service } from "./harness";

/**
 * Regression (issue 15, device provenance): two devices feeding one twin between flushes. A flush used to anchor
 * every pending reading with the last device's signer, so one device's readings were anchored under the other's
 * account. Now a batch holds one device's readings and is anchored by that device.
 */
describe("pipeline/two devices on one twin", function () {
  let service: Service;
  let wearable: unknown;

  before(async () => {
    const cohort = await cohortSmall();
    wearable = cohort.patients[1].wearable;
    service = await startService({ batchPolicy: { maxReadings: 1_000_000, maxAgeMs: 24 * 3_600_000 } });
    const { f } = service;
    await (
      await f.registry
        .connect(f.patient)
        .authorizeSource(f.twinId, f.stranger.address, SourceKind.Device, DataCategory.WEARABLE_STREAMS)
    ).wait();
  });
  after(() => removeFolders(service?.folders));

  it("anchors each device's readings by that device, flushing the other's before a new device's are added", async () => {
    const { pipeline, f } = service;
    const first = await pipeline.ingestWearable(f.twinId, wearable, { deviceSigner: f.wearable });
    expect(first.flushed).to.equal(null);
    expect(pipeline.pendingReadings(f.twinId)).to.equal(first.readings);

    const second = await pipeline.ingestWearable(f.twinId, wearable, { deviceSigner: f.stranger });
    // the first device's readings were anchored (by it) before the second's were added
    expect(second.pending).to.equal(second.readings);
    const anchoredFirst = (await pipeline.readings(f.twinId, {})).filter((p) => p.anchor !== null);
    expect(anchoredFirst).to.have.length(first.readings);
    for (const p of anchoredFirst) expect(p.anchor!.source).to.equal(f.wearable.address);

    // a flush given the other device's signer still anchors by the device the readings came from (the twin's slot)
    await pipeline.flush(f.twinId, { deviceSigner: f.wearable });
    const proven = (await pipeline.readings(f.twinId, {})).filter((p) => p.anchor !== null);
    expect(proven).to.have.length(first.readings + second.readings);
    for (const p of proven) expect(p.reading.source).to.equal(p.anchor!.source);
    const sources = new Set(proven.map((p) => p.anchor!.source));
    expect([...sources].sort()).to.deep.equal([f.wearable.address, f.stranger.address].sort());
  });

  it("after a restart, refuses to anchor a device's pending readings with another device's signer, taking nothing", async () => {
    const { f } = service;
    service.clock.now += 60_000;
    const pending = await service.pipeline.ingestWearable(f.twinId, shifted(wearable), { deviceSigner: f.stranger });
    expect(pending.flushed).to.equal(null);
    await service.pipeline.close();
    const pipeline = await service.restart();
    const error = await pipeline.flush(f.twinId, { deviceSigner: f.wearable }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(PipelineError);
    expect((error as PipelineError).code).to.equal("NO_DEVICE_SIGNER");
    expect(pipeline.pendingReadings(f.twinId)).to.equal(pending.readings);
    // its own device anchors them
    await pipeline.flush(f.twinId, { deviceSigner: f.stranger });
    expect(pipeline.pendingReadings(f.twinId)).to.equal(0);
    await pipeline.close();
  });
});

/** The same wearable export a day later (new readings, not duplicates). */
function shifted(input: unknown): unknown {
  const day = 86_400_000;
  return JSON.parse(JSON.stringify(input), (key, value: unknown) =>
    (key === "effectiveDateTime" || key === "issued" || key === "start" || key === "end") && typeof value === "string"
      ? new Date(Date.parse(value) + day).toISOString()
      : value,
  );
}
