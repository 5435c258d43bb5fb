import { expect } from "chai";
import { ethers } from "hardhat";
import { verifyReadingProof } from "../../../src/chain/anchors";
import type { VitalReading } from "../../../src/fhir";
import { prepareBatch, ReadingBatcher, resolveBatchPolicy, splitIntoBatches } from "../../../src/pipeline";
import { mapLimit, MapLimitError } from "../../../src/pipeline/concurrency";
import { expectCode } from "../crypto/expect-error";

const at = Date.UTC(2024, 0, 1);
const reading = (i: number, sign: VitalReading["sign"] = "heartRate"): VitalReading => ({
  sign,
  value: 60 + i,
  unit: sign === "heartRate" ? "/min" : "%",
  at: at + Math.floor(i / 3) * 1000, // three readings per second
});

describe("pipeline/batcher", () => {
  it("is due at maxReadings pending, or once the oldest pending is maxAgeMs old", () => {
    const batcher = new ReadingBatcher({ mode: "size", maxReadings: 5, maxAgeMs: 1000 });
    const twin = ethers.id("a");
    batcher.add(twin, [reading(0), reading(1)], 10_000);
    expect(batcher.isDue(twin, 10_999)).to.equal(false);
    expect(batcher.isDue(twin, 11_000)).to.equal(true);
    batcher.add(twin, [reading(2), reading(3), reading(4)], 10_500);
    expect(batcher.isDue(twin, 10_500)).to.equal(true);
    expect(batcher.dueTwins(10_500)).to.deep.equal([twin]);
    expect(batcher.take(twin)).to.have.length(5);
    expect(batcher.pending(twin)).to.deep.equal({ readings: [], oldestReceivedAt: null });
    expect(batcher.isDue(twin, 99_999)).to.equal(false);
  });

  it("refuses a malformed policy", () => {
    expectCode(() => resolveBatchPolicy({ maxReadings: 0 }), "INVALID_OPTIONS");
    expectCode(() => resolveBatchPolicy({ maxAgeMs: -1 }), "INVALID_OPTIONS");
  });

  it("splits in time order into batches of at most maxReadings", () => {
    const readings = Array.from({ length: 10 }, (_, i) => reading(9 - i));
    const batches = splitIntoBatches(readings, 4);
    expect(batches.map((b) => b.length)).to.deep.equal([4, 4, 2]);
    const times = batches.flat().map((r) => r.at);
    expect(times).to.deep.equal([...times].sort((a, b) => a - b));
  });

  it("salts every reading, so equal readings in one second still make distinct leaves", () => {
    const same = [reading(0), reading(0), reading(0, "oxygenSaturation")];
    const batch = prepareBatch(ethers.id("twin"), same);
    expect(new Set(batch.readingHashes).size).to.equal(3);
    expect(batch.count).to.equal(3);
    expect(batch.from).to.equal(batch.to);
    for (const [i, hash] of batch.readingHashes.entries()) {
      const proof = batch.tree.getProof(i);
      expect(verifyReadingProof(batch.merkleRoot, hash, batch.from, proof)).to.equal(true);
    }
    expect(prepareBatch(ethers.id("twin"), same).merkleRoot).to.not.equal(batch.merkleRoot); // fresh salts
  });
});

describe("pipeline/concurrency", () => {
  it("keeps the order and bounds the calls in flight", async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, n));
      inFlight--;
      return n * 10;
    });
    expect(out).to.deep.equal([50, 10, 40, 20, 30]);
    expect(most).to.equal(2);
  });

  it("stops at the first failure and reports what completed", async () => {
    let error: unknown;
    try {
      await mapLimit([1, 2, 3, 4], 1, async (n) => {
        if (n === 3) throw new Error("boom");
        return n;
      });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(MapLimitError);
    expect((error as MapLimitError<number>).partial.filter((x) => x !== undefined)).to.deep.equal([1, 2]);
  });
});
