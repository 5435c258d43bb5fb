import { expect } from "chai";
import { ethers } from "hardhat";
import { verifyReadingProof } from "../../../src/chain/anchors";
import type { Cohort } from "../../../src/fhir";
import {
  readingCommitment,
  readingTimestampSeconds,
  scaledReadingValue,
  verifyReadingAnchor,
  type FlushSummary,
  type ProvenReading,
} from "../../../src/pipeline";
import { SourceKind } from "../../../src/vocabulary";
import { createTwinOf, WEARABLE_CATEGORIES } from "../../fixtures";
import { expectCode, expectRejectCode } from "../crypto/expect-error";
import { cohortSmall, removeFolders, startService, type Service } from "./harness";

describe("pipeline/reading commitment", () => {
  const twinId = ethers.id("twin");
  const salt = "0x" + "11".repeat(32);
  const reading = { sign: "heartRate", value: 72.5, unit: "/min", at: 1_704_067_200_123 } as const;

  it("is keccak256(abi.encode(salt, twinId, sign, value × 10^6, unit, timestampMs))", () => {
    const expected = ethers.keccak256(
      ethers.AbiCoder.defaultAbiCoder().encode(
        ["bytes32", "bytes32", "string", "int256", "string", "uint64"],
        [salt, twinId, "heartRate", 72_500_000n, "/min", 1_704_067_200_123n],
      ),
    );
    expect(readingCommitment(salt, twinId, reading)).to.equal(expected);
    expect(readingTimestampSeconds(reading)).to.equal(1_704_067_200);
  });

  it("scales values exactly to millionths, negatives and fractions included", () => {
    expect(scaledReadingValue(0)).to.equal(0n);
    expect(scaledReadingValue(36.6)).to.equal(36_600_000n);
    expect(scaledReadingValue(-0.000001)).to.equal(-1n);
    expect(scaledReadingValue(1 / 3)).to.equal(333_333n);
    expectCode(() => scaledReadingValue(Number.NaN), "INVALID_OPTIONS");
  });

  it("changes with the salt, the twin and every field of the reading", () => {
    const base = readingCommitment(salt, twinId, reading);
    const variants = [
      readingCommitment("0x" + "12".repeat(32), twinId, reading),
      readingCommitment(salt, ethers.id("other twin"), reading),
      readingCommitment(salt, twinId, { ...reading, sign: "oxygenSaturation" }),
      readingCommitment(salt, twinId, { ...reading, value: 72.6 }),
      readingCommitment(salt, twinId, { ...reading, unit: "/s" }),
      readingCommitment(salt, twinId, { ...reading, at: reading.at + 1 }),
    ];
    expect(new Set([base, ...variants]).size).to.equal(7);
    expectCode(() => readingCommitment("0x12", twinId, reading), "INVALID_OPTIONS");
  });
});

describe("pipeline/wearables: a day of readings batched, anchored and proven", function () {
  let cohort: Cohort;
  let service: Service;
  let flushed: FlushSummary;
  let proven: readonly ProvenReading[];

  before(async () => {
    cohort = await cohortSmall();
    service = await startService({ batchPolicy: { maxReadings: 64, maxAgeMs: 60 * 60_000 } });
    const { pipeline, f } = service;
    const episodic = cohort.patients[1];
    await pipeline.ingestEmr(f.twinId, episodic.emr, { sourceSigner: f.emr });
    const received = await pipeline.ingestWearable(f.twinId, episodic.wearable, { deviceSigner: f.wearable });
    expect(received.flushed).to.not.equal(null);
    flushed = received.flushed as FlushSummary;
    proven = (await pipeline.readings(f.twinId, {})).filter((p) => p.anchor !== null);
  });
  after(() => removeFolders(service?.folders));

  it("splits the day into batches of at most maxReadings and anchors each root", async () => {
    const { f } = service;
    expect(flushed.readings).to.equal(151);
    expect(flushed.batches.map((b) => b.count)).to.deep.equal([64, 64, 23]);
    for (const batch of flushed.batches) {
      // v2 keeps no count or range on chain: the batch is anchored by the device, its count is in the index.
      expect((await f.updateLog.batchOf(f.twinId, f.wearable.address, batch.merkleRoot)).anchoredAt).to.not.equal(0n);
      expect((await f.updateLog.batchOf(f.twinId, f.emr.address, batch.merkleRoot)).anchoredAt).to.equal(0n);
    }
    expect(service.pipeline.pendingReadings(f.twinId)).to.equal(0);
  });

  it("gives every reading a proof that verifyReading accepts on chain (readings sharing a second included)", async () => {
    const { f } = service;
    expect(proven).to.have.length(151);
    const seconds = new Set(proven.map((p) => p.anchor?.timestamp));
    expect(seconds.size).to.be.lessThan(proven.length); // several signs share a second
    for (const { reading, anchor } of proven) {
      if (anchor === null) throw new Error("unanchored");
      expect(readingCommitment(anchor.salt, f.twinId, reading)).to.equal(anchor.readingHash);
      expect(verifyReadingProof(anchor.merkleRoot, anchor.readingHash, anchor.timestamp, anchor.proof)).to.equal(true);
      expect(
        await f.updateLog.verifyReading(
          f.twinId,
          anchor.source,
          anchor.merkleRoot,
          anchor.readingHash,
          anchor.timestamp,
          [...anchor.proof],
        ),
      ).to.equal(true);
      expect(anchor.source).to.equal(f.wearable.address);
    }
  });

  it("keeps the batch encrypted as one blob per batch", async () => {
    const { folders } = service;
    for (const batch of flushed.batches) {
      const blob = Buffer.from(await folders.blobs.get(batch.cid));
      expect(blob.includes(Buffer.from("heartRate"))).to.equal(false);
    }
  });

  it("raises the alerts of the planned desaturation episode", () => {
    const episode = cohort.patients[1].episodes.find((e) => e.kind === "desaturation");
    if (episode === undefined) throw new Error("the fixture patient has no desaturation");
    const spo2 = flushed.raisedAlerts.filter((a) => a.rule === "spo2-low");
    expect(spo2).to.have.length.greaterThan(0);
    expect(spo2[0].startAt).to.be.at.least(Date.parse(episode.start));
    expect(spo2[0].startAt).to.be.below(Date.parse(episode.end));
    expect(service.pipeline.alerts(service.f.twinId).map((a) => a.id)).to.include(spo2[0].id);
  });

  it("commits the new version with the engine's roots", async () => {
    const { f, pipeline } = service;
    const { version, anchor } = pipeline.version(f.twinId);
    expect(version.version).to.equal(2);
    expect(anchor?.version).to.equal(2);
    const onChain = await f.updateLog.twinStateOf(f.twinId);
    expect(onChain.version).to.equal(2n);
    expect(onChain.stateRoot).to.equal(version.stateRoot);
    expect(onChain.sourcesRoot).to.equal(version.sourcesRoot);
    for (const batch of flushed.batches) expect(version.sourceHashes).to.include(batch.contentHash);
  });

  it("answers readings by sign and time range", async () => {
    const { f, pipeline } = service;
    const from = Date.parse("2024-01-01T04:00:00Z");
    const to = Date.parse("2024-01-01T06:00:00Z");
    const spo2 = await pipeline.readings(f.twinId, { signs: ["oxygenSaturation"], from, to });
    expect(spo2.length).to.be.greaterThan(0);
    expect(spo2.every((p) => p.reading.sign === "oxygenSaturation" && p.reading.at >= from && p.reading.at < to)).to.be
      .true;
    const verdict = await verifyReadingAnchor(spo2[0].reading, spo2[0].anchor!, {
      updateLog: f.updateLog,
      twinId: f.twinId,
    });
    expect(verdict).to.deep.equal({ valid: true, reason: null });
  });

  it("raises no episode alert for a patient without episodes", async () => {
    const { f, pipeline } = service;
    const calm = await createTwinOf(f.registry, f.patient, "twin:pseudonym:calm", f.hospital);
    await f.registry
      .connect(f.patient)
      .authorizeSource(calm, f.wearable.address, SourceKind.Device, WEARABLE_CATEGORIES);
    const received = await pipeline.ingestWearable(calm, cohort.patients[0].wearable, { deviceSigner: f.wearable });
    const rules = (received.flushed?.alerts ?? []).map((a) => a.rule);
    expect(rules).to.not.include("spo2-low");
    expect(rules).to.not.include("heart-rate-high");
  });
});

describe("pipeline/wearables: the batch policy", function () {
  let service: Service;
  beforeEach(async () => {
    service = await startService({ batchPolicy: { maxReadings: 1000, maxAgeMs: 15 * 60_000 } });
  });
  afterEach(() => removeFolders(service?.folders));

  it("keeps readings pending (unanchored) until the batch is old enough, then flushes it", async () => {
    const { pipeline, f, clock } = service;
    const cohort = await cohortSmall();
    const entries = cohort.patients[1].wearable.entry ?? [];
    const observations = entries.map((e) => e.resource).filter((r) => r?.resourceType === "Observation");
    const first = await pipeline.ingestWearable(f.twinId, observations.slice(0, 10), { deviceSigner: f.wearable });
    expect(first.flushed).to.equal(null);
    expect(first.pending).to.equal(10);
    clock.now += 5 * 60_000;
    await pipeline.ingestWearable(f.twinId, observations.slice(10, 20), { deviceSigner: f.wearable });
    const pending = await pipeline.readings(f.twinId, {});
    expect(pending).to.have.length(20);
    expect(pending.every((p) => p.anchor === null)).to.equal(true);
    expect(await pipeline.flushDue()).to.deep.equal({ flushed: [], failed: [] });

    clock.now += 10 * 60_000; // the oldest reading is now 15 minutes old
    const {
      flushed: [flushed],
    } = await pipeline.flushDue();
    expect(flushed.readings).to.equal(20);
    expect(flushed.batches).to.have.length(1);
    expect((await pipeline.readings(f.twinId, {})).every((p) => p.anchor !== null)).to.equal(true);
    expect(await pipeline.flush(f.twinId)).to.equal(null);
  });

  it("refuses readings from a device not authorized for wearable streams", async () => {
    const { pipeline, f } = service;
    const cohort = await cohortSmall();
    await expectRejectCode(
      pipeline.ingestWearable(f.twinId, cohort.patients[1].wearable, { deviceSigner: f.emr }),
      "SOURCE_NOT_AUTHORIZED",
    );
    expect(pipeline.holding(f.twinId)).to.equal("unknown");
  });
});
