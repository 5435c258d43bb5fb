import { expect } from "chai";
import { AbiCoder, concat, keccak256, toUtf8Bytes, ZeroHash } from "ethers";
import fc from "fast-check";
import type { TwinRecord, VitalReading } from "../../../src/fhir/records";
import {
  buildTwinModel,
  canonicalHash,
  canonicalJson,
  canonicalNumber,
  canonicalState,
  EMPTY_SOURCES_ROOT,
  resolveConfig,
  sourceProof,
  STATE_SCHEMA,
  stateCommitment,
  stateDocument,
  TwinEngine,
  TwinEngineError,
  verifySourceProof,
} from "../../../src/twin";
import {
  allergy,
  condition,
  encounter,
  HOUR,
  medication,
  MINUTE,
  reading,
  repeat,
  series,
  sourceHash,
  T0,
} from "./builders";

/** A mixed pool: two versions of one record, duplicates, out-of-order readings, alerts, mixed-case hashes. */
const RECORDS: TwinRecord[] = [
  condition("htn", { status: "active", onset: "2019-04-02", lastUpdated: "2024-01-01T00:00:00Z" }),
  condition("htn", { status: "resolved", onset: "2019-04-02", lastUpdated: "2025-01-01T00:00:00Z" }),
  condition("dm2", { status: "active", onset: "2015-06-01" }),
  medication("metformin", { since: "2015-06-02" }),
  allergy("penicillin", { status: "active", criticality: "high" }),
  encounter("e1", "2025-12-20T09:00:00Z"),
];
const READINGS: VitalReading[] = [
  ...series(
    "systolic",
    T0 - 30 * HOUR,
    HOUR,
    repeat(120, 30).map((v, i) => v + (i % 3)),
  ),
  reading("systolic", 150, T0), // off the patient's baseline, below the fixed threshold
  ...series("heartRate", T0, MINUTE, [...repeat(131, 12), 70]),
  reading("heartRate", 131, T0 + 3 * MINUTE), // duplicate
  ...series("oxygenSaturation", T0, 7 * MINUTE, [97, 91, 90, 95]),
  reading("oxygenSaturation", 91, T0 + 7 * MINUTE, { source: "Device/ring" }), // same time, other source
  reading("bodyTemperature", 100.4, T0 + HOUR, { unit: "[degF]" }),
  reading("glucose", 3.5, T0 + 2 * HOUR, { unit: "mmol/L" }),
];
const HASHES: string[] = [
  sourceHash("emr-1"),
  sourceHash("watch-1"),
  sourceHash("watch-2"),
  sourceHash("lab-1"),
  sourceHash("watch-1"), // duplicate
  sourceHash("emr-1").toUpperCase().replace("0X", "0x"), // same hash, other case
];

describe("twin commitments", () => {
  const reference = buildTwinModel(RECORDS, READINGS, { sourceHashes: HASHES });

  it("the pool exercises alerts, record versions and deduplication", () => {
    expect(reference.model.alerts.map((a) => a.rule)).to.include.members([
      "heart-rate-high",
      "spo2-low",
      "fever",
      "glucose-low",
      "baseline-deviation",
    ]);
    expect(reference.records).to.have.length(5);
    expect(reference.sourceHashes).to.have.length(4);
  });

  describe("canonical form", () => {
    it("formats numbers with at most 6 decimals and no exponent", () => {
      expect(canonicalNumber(72)).to.equal("72");
      expect(canonicalNumber(72.5)).to.equal("72.5");
      expect(canonicalNumber(1 / 3)).to.equal("0.333333");
      expect(canonicalNumber(-2 / 3)).to.equal("-0.666667");
      expect(canonicalNumber(-0)).to.equal("0");
      expect(canonicalNumber(-1e-7)).to.equal("0");
      expect(canonicalNumber(1e-7)).to.equal("0");
      expect(canonicalNumber(T0)).to.equal("1767600000000");
      expect(() => canonicalNumber(Number.NaN)).to.throw(TwinEngineError);
      expect(() => canonicalNumber(1e21)).to.throw(TwinEngineError);
    });

    it("sorts keys, drops undefined members and has no whitespace", () => {
      expect(canonicalJson({ b: 1.5, a: [true, null, "x\n"], c: undefined, A: {} })).to.equal(
        '{"A":{},"a":[true,null,"x\\n"],"b":1.5}',
      );
      expect(() => canonicalJson({ f: () => 1 })).to.throw(TwinEngineError);
    });

    it("the state root is keccak256 of the UTF-8 canonical state document", () => {
      const text = canonicalState({
        config: resolveConfig(),
        model: reference.model,
        records: reference.records,
        readings: reference.readings,
      });
      expect(keccak256(toUtf8Bytes(text))).to.equal(reference.stateRoot);
      const document = JSON.parse(text) as Record<string, unknown>;
      expect(Object.keys(document)).to.deep.equal(["config", "model", "readings", "records", "schema"]);
      expect(document.schema).to.equal(STATE_SCHEMA);
    });

    it("the readings digest is keccak256 of the canonical JSON of [at, value, source, category, recordKey] rows", () => {
      const document = stateDocument({
        config: resolveConfig(),
        model: reference.model,
        records: reference.records,
        readings: reference.readings,
      }) as { readings: Record<string, { count: number; digest: string }> };
      for (const [sign, series] of Object.entries(reference.readings)) {
        const rows = (series ?? []).map((r) => [
          r.at,
          r.value,
          r.source ?? null,
          r.category ?? null,
          r.recordKey ?? null,
        ]);
        expect(document.readings[sign]).to.deep.equal({ count: rows.length, digest: canonicalHash(rows) });
      }
    });

    it("leaves the version number out of the state root, and covers every value", () => {
      expect(buildTwinModel(RECORDS, READINGS, { sourceHashes: HASHES, version: 7 }).stateRoot).to.equal(
        reference.stateRoot,
      );
      const changed = READINGS.map((r, i) => (i === 0 ? { ...r, value: r.value + 0.001 } : r));
      expect(buildTwinModel(RECORDS, changed, { sourceHashes: HASHES }).stateRoot).to.not.equal(reference.stateRoot);
      const otherSource = READINGS.map((r, i) => (i === 0 ? { ...r, source: "Device/other" } : r));
      expect(buildTwinModel(RECORDS, otherSource, { sourceHashes: HASHES }).stateRoot).to.not.equal(
        reference.stateRoot,
      );
    });
  });

  describe("order independence (property)", () => {
    const permutation = <T>(items: readonly T[]) =>
      fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length });

    it("any permutation of records, readings and source hashes gives the same roots", () => {
      fc.assert(
        fc.property(permutation(RECORDS), permutation(READINGS), permutation(HASHES), (records, readings, hashes) => {
          const version = buildTwinModel(records, readings, { sourceHashes: hashes });
          expect(version.stateRoot).to.equal(reference.stateRoot);
          expect(version.sourcesRoot).to.equal(reference.sourcesRoot);
        }),
        { numRuns: 60 },
      );
    });

    it("any split of the inputs into batches, applied in any order, gives the same roots", () => {
      const batchOf = (length: number) =>
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: length, maxLength: length });
      fc.assert(
        fc.property(
          batchOf(RECORDS.length),
          batchOf(READINGS.length),
          batchOf(HASHES.length),
          permutation([0, 1, 2, 3]),
          (recordBatch, readingBatch, hashBatch, order) => {
            const engine = new TwinEngine();
            for (const b of order) {
              engine.apply({
                records: RECORDS.filter((_, i) => recordBatch[i] === b),
                readings: READINGS.filter((_, i) => readingBatch[i] === b),
                sourceHashes: HASHES.filter((_, i) => hashBatch[i] === b),
              });
            }
            expect(engine.version).to.equal(4);
            expect(engine.current.stateRoot).to.equal(reference.stateRoot);
            expect(engine.current.sourcesRoot).to.equal(reference.sourcesRoot);
          },
        ),
        { numRuns: 40 },
      );
    });
  });

  describe("sources root and proofs", () => {
    it("a source hash's proof verifies against the version's sources root", () => {
      for (const hash of reference.sourceHashes) {
        const proof = sourceProof(reference, hash);
        expect(verifySourceProof(reference.sourcesRoot, hash, proof)).to.equal(true);
      }
      const upper = sourceHash("lab-1").toUpperCase().replace("0X", "0x");
      expect(verifySourceProof(reference.sourcesRoot, upper, sourceProof(reference, upper))).to.equal(true);
    });

    it("a wrong hash, a tampered proof or another root does not verify", () => {
      const hash = sourceHash("watch-2");
      const proof = sourceProof(reference, hash);
      expect(verifySourceProof(reference.sourcesRoot, sourceHash("watch-3"), proof)).to.equal(false);
      expect(verifySourceProof(reference.sourcesRoot, hash, [...proof].reverse())).to.equal(false);
      expect(verifySourceProof(reference.sourcesRoot, hash, [ZeroHash, ...proof.slice(1)])).to.equal(false);
      const earlier = buildTwinModel(RECORDS, READINGS, { sourceHashes: [sourceHash("emr-1"), hash] });
      expect(verifySourceProof(earlier.sourcesRoot, hash, proof)).to.equal(false);
      expect(verifySourceProof("0x1234", hash, proof)).to.equal(false);
      expect(verifySourceProof(reference.sourcesRoot, "not a hash", proof)).to.equal(false);
    });

    it("refuses a proof for a hash that did not feed the version", () => {
      expect(() => sourceProof(reference, sourceHash("watch-3")))
        .to.throw(TwinEngineError)
        .with.property("code", "TWIN_SOURCE_NOT_FOUND");
      expect(() => buildTwinModel([], [], { sourceHashes: ["0x1234"] }))
        .to.throw(TwinEngineError)
        .with.property("code", "TWIN_INVALID_SOURCE_HASH");
    });

    it("is an OpenZeppelin standard tree (leaf = keccak256(keccak256(abi.encode(bytes32))), sorted pairs)", () => {
      const leaf = (hash: string) => keccak256(keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32"], [hash])));
      const [a, b] = [sourceHash("a"), sourceHash("b")];
      const single = buildTwinModel([], [], { sourceHashes: [a] });
      expect(single.sourcesRoot).to.equal(leaf(a));
      expect(sourceProof(single, a)).to.deep.equal([]);
      const [low, high] = [leaf(a), leaf(b)].sort();
      expect(buildTwinModel([], [], { sourceHashes: [b, a] }).sourcesRoot).to.equal(keccak256(concat([low, high])));
      expect(buildTwinModel([], []).sourcesRoot).to.equal(EMPTY_SOURCES_ROOT);
      expect(EMPTY_SOURCES_ROOT).to.equal(ZeroHash);
    });
  });

  describe("what commitTwinState anchors", () => {
    it("gives the roots and the version as uint64", () => {
      expect(stateCommitment(reference)).to.deep.equal({
        stateRoot: reference.stateRoot,
        sourcesRoot: reference.sourcesRoot,
        version: 1n,
      });
    });

    it("refuses the empty version 0 and a version without sources (the contract would revert)", () => {
      expect(() => stateCommitment(new TwinEngine().current))
        .to.throw(TwinEngineError)
        .with.property("code", "TWIN_NOT_COMMITTABLE");
      expect(() => stateCommitment(buildTwinModel(RECORDS, READINGS)))
        .to.throw(TwinEngineError)
        .with.property("code", "TWIN_NOT_COMMITTABLE");
    });
  });
});
