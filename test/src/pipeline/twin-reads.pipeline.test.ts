import { expect } from "chai";
import type { Bundle } from "@medplum/fhirtypes";
import { VitalSign, type VitalSignName } from "../../../src/fhir";
import { PipelineContext } from "../../../src/pipeline/pipeline-context";
import type { ProvenReading, ReadingsQuery } from "../../../src/pipeline/reader";
import { restoreTwin } from "../../../src/pipeline/restore";
import { expectRejectCode } from "../crypto/expect-error";
import { cohortSmall, removeFolders, reopenFolders, startService, type Service } from "./harness";
import { scannedReadings } from "./twin-reads-oracle";

/**
 * The reading lookups through the pipeline's real change paths (issue 12): after each change of the twin (readings
 * pending in intakes, the intakes flushed into anchored batches, an EMR record superseded by a newer version, a
 * restart, erasure), a pipeline whose lookups were warm before the change answers what the old scan answers on a
 * pipeline rebuilt from the saved index.
 */

const SIGNS = Object.keys(VitalSign) as VitalSignName[];

/** The same EMR export with its first vital-signs Observation's first value changed and the resource updated later. */
function withVitalChange(bundle: Bundle): { bundle: Bundle; value: number } {
  const copy = JSON.parse(JSON.stringify(bundle)) as Bundle;
  const observation = copy.entry
    ?.map((e) => e.resource as Record<string, unknown> | undefined)
    .find(
      (r) =>
        r?.resourceType === "Observation" &&
        JSON.stringify(r.category).includes("vital-signs") &&
        (r.valueQuantity !== undefined || Array.isArray(r.component)),
    );
  if (observation === undefined) throw new Error("the bundle has no vital-signs Observation");
  const components = (observation.component as { valueQuantity?: { value: number } }[] | undefined) ?? [observation];
  const quantity = (
    components.find((c) => (c as { valueQuantity?: unknown }).valueQuantity) as {
      valueQuantity: { value: number };
    }
  ).valueQuantity;
  quantity.value += 0.25; // plausible, and no reading of the cohort has a quarter
  observation.meta = { ...(observation.meta as object), lastUpdated: "2030-01-01T00:00:00Z" };
  return { bundle: copy, value: quantity.value };
}

describe("pipeline/twin-reads: warm lookups after each change answer what the scan answers", function () {
  this.timeout(120_000);
  let service: Service;
  afterEach(() => removeFolders(service?.folders));

  /** What the scan answers on a pipeline rebuilt from the saved index and blobs. */
  async function scanned(queries: readonly ReadingsQuery[]): Promise<(readonly ProvenReading[])[]> {
    const folders = reopenFolders(service.folders.root);
    const ctx = new PipelineContext({
      updateLog: service.f.updateLog,
      vault: folders.vault,
      custodianKey: service.custodianKey,
      custodianSigner: service.f.hospital,
      patientPublicKey: () => service.patientKey.signingKey.publicKey,
      indexFolder: folders.indexFolder,
      batchPolicy: { mode: "size", maxReadings: 64, maxAgeMs: 60 * 60_000 },
      clock: () => service.clock.now,
      fsync: false,
    });
    try {
      for (const index of await ctx.folder.loadAll()) await restoreTwin(ctx, index);
      const twinId = service.f.twinId.toLowerCase();
      const out: (readonly ProvenReading[])[] = [];
      for (const query of queries) out.push(await scannedReadings(ctx, twinId, query));
      return out;
    } finally {
      await ctx.folder.close();
    }
  }

  /** Every sign, the whole twin, a window, and each sign's latest reading alone (as latest-vitals asks). */
  async function queriesOf(readings: (q: ReadingsQuery) => Promise<readonly ProvenReading[]>) {
    const all = await readings({});
    const latest = new Map(all.map((p) => [p.reading.sign, p.reading.at]));
    const times = all.map((p) => p.reading.at);
    const middle = times[Math.floor(times.length / 2)] ?? 0;
    return [
      {},
      ...SIGNS.map((sign) => ({ signs: [sign] })),
      { from: middle - 3_600_000, to: middle + 1 },
      { signs: SIGNS.slice(0, 3), from: middle },
      ...[...latest].map(([sign, at]) => ({ signs: [sign], from: at, to: at + 1 })),
    ];
  }

  async function expectAsScanned(pipeline = service.pipeline): Promise<readonly ProvenReading[]> {
    const twinId = service.f.twinId;
    const queries = await queriesOf((q) => pipeline.readings(twinId, q));
    const answers = await Promise.all(queries.map((q) => pipeline.readings(twinId, q)));
    expect(answers).to.deep.equal(await scanned(queries));
    return answers[0];
  }

  it("pending intakes, their flush into batches, a superseded EMR record, a restart", async () => {
    service = await startService({ batchPolicy: { maxReadings: 1000, maxAgeMs: 60 * 60_000 } });
    const { pipeline, f } = service;
    const patient = (await cohortSmall()).patients[1];
    await pipeline.ingestEmr(f.twinId, patient.emr, { sourceSigner: f.emr });
    const emrOnly = await expectAsScanned();
    expect(emrOnly.length).to.be.greaterThan(0);
    expect(emrOnly.every((p) => p.recordAnchor !== undefined)).to.equal(true);

    await pipeline.ingestWearable(f.twinId, patient.wearable, { deviceSigner: f.wearable });
    expect(pipeline.anchors(f.twinId).batches).to.have.length(0); // pending in intakes
    const pending = await expectAsScanned();
    expect(pending.filter((p) => p.anchor === null && p.recordAnchor === undefined).length).to.be.greaterThan(0);

    await pipeline.flush(f.twinId, { deviceSigner: f.wearable });
    expect(pipeline.anchors(f.twinId).batches.length).to.be.greaterThan(0);
    const flushed = await expectAsScanned();
    expect(flushed.filter((p) => p.anchor === null && p.recordAnchor === undefined)).to.deep.equal([]);
    expect(flushed.length).to.equal(pending.length);

    const { bundle, value } = withVitalChange(patient.emr);
    const before = flushed.filter((p) => p.reading.value === value);
    expect(before).to.deep.equal([]);
    await pipeline.ingestEmr(f.twinId, bundle, { sourceSigner: f.emr });
    const superseded = await expectAsScanned();
    const changed = superseded.filter((p) => p.reading.value === value);
    expect(changed).to.have.length(1);
    expect(changed[0].recordAnchor?.sequence).to.equal("2"); // the newer record's anchor, from the second ingest
    expect(superseded.length).to.equal(flushed.length);

    const restarted = await service.restart();
    try {
      expect(await expectAsScanned(restarted)).to.deep.equal(superseded);
    } finally {
      await restarted.close();
    }
  });

  it("erasure: reads warm before it answer TWIN_ERASED after it", async () => {
    service = await startService({ batchPolicy: { maxReadings: 100, maxAgeMs: 60 * 60_000 } });
    const { pipeline, f } = service;
    const patient = (await cohortSmall()).patients[1];
    await pipeline.ingestEmr(f.twinId, patient.emr, { sourceSigner: f.emr });
    await pipeline.ingestWearable(f.twinId, patient.wearable, { deviceSigner: f.wearable });
    await pipeline.flush(f.twinId, { deviceSigner: f.wearable });
    await expectAsScanned();
    await f.registry.connect(f.patient).eraseTwin(f.twinId);
    await pipeline.erase(f.twinId);
    for (const query of [{}, { signs: ["heartRate" as const] }, { signs: ["systolic" as const], from: 0 }]) {
      await expectRejectCode(pipeline.readings(f.twinId, query), "TWIN_ERASED");
    }
  });
});
