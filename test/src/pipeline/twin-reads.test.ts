import { expect } from "chai";
import { id, Wallet } from "ethers";
import fc from "fast-check";
import { buildReadingTree } from "../../../src/chain/anchors";
import type { TwinRecord, VitalReading, VitalSignName } from "../../../src/fhir/records";
import {
  decodeIntake,
  encodeBatch,
  encodeIntake,
  encodeRecord,
  type SaltedReading,
} from "../../../src/pipeline/blob-codec";
import type { PipelineContext } from "../../../src/pipeline/pipeline-context";
import type { ProvenReading, ReadingsQuery } from "../../../src/pipeline/reader";
import { recordTreeOf } from "../../../src/pipeline/record-anchoring";
import { readingCommitment, readingTimestampSeconds } from "../../../src/pipeline/reading-commitment";
import { ReadingLookup } from "../../../src/pipeline/reading-lookup";
import { emptyTwinIndex, type RecordEntry } from "../../../src/pipeline/twin-index";
import { provenReadings } from "../../../src/pipeline/twin-reads";
import { EffectiveRecords, stillReadable, type TwinSlot } from "../../../src/pipeline/twin-slot";
import { cidOf } from "../../../src/store/cid";
import { DataCategory } from "../../../src/vocabulary";
import { expectRejectCode } from "../crypto/expect-error";
import { scannedReadings } from "./twin-reads-oracle";

/**
 * The pipeline's reading lookups (issue 12) against the scan they replace (twin-reads-oracle.ts): for random twins
 * (anchored batches, pending intakes, EMR records carrying readings, some superseded) and random queries, between
 * random changes of the twin, `provenReadings` answers exactly what the scan answers, in the same order.
 */

const TWIN = id("twin-reads.test: twin");
const BASE = Date.UTC(2024, 0, 2);
const SIGNS: readonly VitalSignName[] = ["heartRate", "oxygenSaturation", "steps", "systolic"];
const STEP = 250; // several readings a second: readings of one second in several batches, equal times across sources
const SOURCE = new Wallet(id("twin-reads.test: device")).address.toLowerCase(); // checksummed by the reads

interface Drawn {
  readonly sign: VitalSignName;
  readonly tick: number;
  readonly value: number;
}
type Op =
  | { readonly kind: "batch"; readonly readings: readonly Drawn[] }
  | { readonly kind: "intake"; readonly readings: readonly Drawn[] }
  | { readonly kind: "flush" }
  | { readonly kind: "records"; readonly records: readonly { key: number; readings: Drawn[]; kept: boolean }[] }
  | { readonly kind: "queries"; readonly queries: readonly ReadingsQuery[] };

const drawn = fc.record({
  sign: fc.constantFrom(...SIGNS),
  tick: fc.integer({ min: 0, max: 30 }),
  value: fc.integer({ min: 0, max: 3 }),
});
const bound = fc.option(
  fc.tuple(fc.integer({ min: -2, max: 32 }), fc.constantFrom(-1, 0, 1)).map(([t, d]) => BASE + t * STEP + d),
  { nil: undefined },
);
const query: fc.Arbitrary<ReadingsQuery> = fc
  .record({
    signs: fc.option(fc.array(fc.constantFrom<VitalSignName>(...SIGNS, "glucose"), { maxLength: 3 }), {
      nil: undefined,
    }),
    from: bound,
    to: bound,
  })
  .map((q) => Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined)) as ReadingsQuery);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("batch" as const), readings: fc.array(drawn, { minLength: 1, maxLength: 12 }) }),
  fc.record({ kind: fc.constant("intake" as const), readings: fc.array(drawn, { minLength: 1, maxLength: 6 }) }),
  fc.record({ kind: fc.constant("flush" as const) }),
  fc.record({
    kind: fc.constant("records" as const),
    records: fc.array(
      fc.record({
        key: fc.integer({ min: 0, max: 4 }),
        readings: fc.array(drawn, { maxLength: 4 }),
        kept: fc.boolean(),
      }),
      { minLength: 1, maxLength: 4 },
    ),
  }),
  fc.record({ kind: fc.constant("queries" as const), queries: fc.array(query, { minLength: 1, maxLength: 4 }) }),
);

/** One twin held twice (one slot read by the scan, one by the lookups), changed the same way. */
class Twin {
  readonly blobs = new Map<string, Uint8Array>();
  readonly scanned = this.#side();
  readonly looked = this.#side();
  #counter = 0;

  #side(): { slot: TwinSlot; ctx: PipelineContext } {
    const index = emptyTwinIndex(TWIN);
    const slot = {
      index,
      engine: {},
      effective: new EffectiveRecords(),
      batchByKey: new Map(),
      trees: new Map(),
      openedRecords: new Map(),
      openedBatches: new Map(),
      openedIntakes: new Map(),
      erasing: false,
    } as unknown as TwinSlot;
    const vault = { read: async (cid: string) => this.blobs.get(cid) as Uint8Array };
    const ctx = {
      readable: () => (stillReadable(slot), slot),
      options: { vault, custodianKey: "0x" },
    } as unknown as PipelineContext;
    return { slot, ctx };
  }

  #both(change: (slot: TwinSlot) => void): void {
    change(this.scanned.slot);
    change(this.looked.slot);
  }

  #store(plaintext: Uint8Array): string {
    const cid = cidOf(plaintext);
    this.blobs.set(cid, plaintext);
    return cid;
  }

  #reading(d: Drawn, extra: Partial<VitalReading> = {}): VitalReading {
    return { sign: d.sign, value: d.value, unit: "1", at: BASE + d.tick * STEP, ...extra };
  }

  addBatch(readings: readonly VitalReading[]): void {
    const n = ++this.#counter;
    const salted: SaltedReading[] = readings.map((reading, i) => ({ reading, salt: id(`salt ${n}/${i}`) }));
    const tree = buildReadingTree(
      salted.map(({ reading, salt }) => ({
        readingHash: readingCommitment(salt, TWIN, reading),
        timestamp: readingTimestampSeconds(reading),
      })),
    );
    const seconds = readings.map(readingTimestampSeconds);
    const entry = {
      key: `wearable-batch/${n}`,
      cid: this.#store(encodeBatch(salted)),
      contentHash: id(`batch ${n}`),
      merkleRoot: tree.root,
      count: readings.length,
      from: Math.min(...seconds),
      to: Math.max(...seconds),
      blockNumber: n,
      transactionHash: id(`tx ${n}`),
      source: SOURCE,
    };
    this.#both((slot) => slot.index.batches.push(entry));
  }

  apply(change: Op): void {
    switch (change.kind) {
      case "batch":
        return this.addBatch(change.readings.map((d) => this.#reading(d)));
      case "intake": {
        const n = ++this.#counter;
        const cid = this.#store(encodeIntake(change.readings.map((d) => this.#reading(d))));
        const entry = { key: `wearable-intake/${n}`, cid, count: change.readings.length, receivedAt: n };
        return this.#both((slot) => slot.index.intakes.push(entry));
      }
      case "flush": {
        // the pending readings become a batch (reading-flush.ts): the intakes leave the index and the opened ones go
        const pending = this.scanned.slot.index.intakes.flatMap((intake) =>
          decodeIntake(this.blobs.get(intake.cid) as Uint8Array, intake.key),
        );
        this.#both((slot) => {
          slot.index.intakes = [];
          slot.openedIntakes.clear();
        });
        return pending.length > 0 ? this.addBatch(pending) : undefined;
      }
      case "records":
        return this.#addRecords(change.records);
      case "queries":
        return;
    }
  }

  #addRecords(records: readonly { key: number; readings: Drawn[]; kept: boolean }[]): void {
    const n = ++this.#counter;
    const batch = this.scanned.slot.index.recordBatches.length;
    const entries: RecordEntry[] = records.map(({ key, readings }, leaf) => {
      const recordKey = `Observation/o${key}`;
      const record = { key: recordKey, kind: "observation", category: DataCategory.VITALS } as unknown as TwinRecord;
      const carried = readings.map((d) => this.#reading(d, { recordKey, category: DataCategory.VITALS }));
      const cid = this.#store(encodeRecord(record, carried));
      const contentHash = id(`record ${n}/${leaf}`);
      return {
        key: recordKey,
        category: DataCategory.VITALS,
        readingCount: carried.length,
        anchor: { kind: "records", batch, leaf, contentHash, cid },
      };
    });
    const tree = recordTreeOf(
      entries.map((e) => ({ category: e.category, contentHash: e.anchor.contentHash, cid: e.anchor.cid })),
    );
    const batchEntry = {
      sequence: String(n),
      recordsRoot: tree.root,
      source: new Wallet(id("twin-reads.test: emr")).address,
      leafCount: entries.length,
      blockNumber: n,
      transactionHash: id(`records tx ${n}`),
    };
    this.#both((slot) => {
      slot.index.recordBatches.push(batchEntry);
      slot.index.records.push(...entries);
      // as markEffective does: the entries whose record the engine kept become the effective ones of their keys
      entries.forEach((entry, i) => records[i].kept && slot.effective.set(entry.key, entry));
    });
  }

  async both(q: ReadingsQuery): Promise<[readonly ProvenReading[], readonly ProvenReading[]]> {
    const scanned = await scannedReadings(this.scanned.ctx, TWIN, q);
    const looked = await provenReadings(this.looked.ctx, TWIN, q);
    return [scanned, looked];
  }
}

/** Each query's answer by the lookups and by the scan, some queries together (sharing one derivation). */
async function checkQueries(twin: Twin, queries: readonly ReadingsQuery[]): Promise<void> {
  const together = await Promise.all(queries.map((q) => provenReadings(twin.looked.ctx, TWIN, q)));
  for (const [i, q] of queries.entries()) {
    const [scanned, looked] = await twin.both(q);
    expect(looked, JSON.stringify(q)).to.deep.equal(scanned);
    expect(together[i], JSON.stringify(q)).to.deep.equal(scanned);
  }
}

describe("pipeline/twin-reads: sign+time lookups answer what the scan answered", function () {
  this.timeout(120_000);

  it("for random twins, changes and queries, the same readings with the same anchors in the same order", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 12 }),
        fc.array(query, { maxLength: 3 }),
        async (ops, qs) => {
          const twin = new Twin();
          for (const change of ops) {
            twin.apply(change);
            if (change.kind === "queries") await checkQueries(twin, change.queries);
          }
          await checkQueries(twin, [...qs, {}]);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("a change of the effective records drops what the reads derived from them", async () => {
    const twin = new Twin();
    const d = (tick: number): Drawn => ({ sign: "heartRate", tick, value: 1 });
    twin.apply({ kind: "records", records: [{ key: 1, readings: [d(1), d(2)], kept: true }] });
    const effective = twin.looked.slot.effective;
    const signs: VitalSignName[] = ["heartRate"];
    expect(await provenReadings(twin.looked.ctx, TWIN, { signs })).to.have.length(2);
    expect(effective.carried).to.not.equal(undefined);

    // a newer version of the record supersedes it (markEffective's `set`)
    twin.apply({ kind: "records", records: [{ key: 1, readings: [d(5)], kept: true }] });
    expect(effective.carried).to.equal(undefined);
    const [scanned, looked] = await twin.both({ signs });
    expect(looked.map((p) => p.reading.at)).to.deep.equal([BASE + 5 * STEP]);
    expect(looked).to.deep.equal(scanned);

    // an older version arriving later is not kept: nothing changes, the derivation stays
    const kept = effective.carried;
    twin.apply({ kind: "records", records: [{ key: 1, readings: [d(9)], kept: false }] });
    expect(effective.carried).to.equal(kept);

    // delete and clear (erasure) drop it too
    effective.delete("Observation/o1");
    expect(effective.carried).to.equal(undefined);
    await provenReadings(twin.looked.ctx, TWIN, { signs });
    expect(effective.carried).to.not.equal(undefined);
    effective.clear();
    expect(effective.carried).to.equal(undefined);
    expect(await provenReadings(twin.looked.ctx, TWIN, { signs })).to.deep.equal([]);
  });

  it("a derivation that fails is not kept, and one the records changed under is not kept for the next read", async () => {
    const twin = new Twin();
    const d = (tick: number): Drawn => ({ sign: "systolic", tick, value: 2 });
    twin.apply({ kind: "records", records: [{ key: 2, readings: [d(3)], kept: true }] });
    const { slot, ctx } = twin.looked;
    const [entry] = slot.effective.values();
    const stored = twin.blobs.get(entry.anchor.cid) as Uint8Array;
    twin.blobs.set(entry.anchor.cid, new Uint8Array([1, 2, 3])); // the record's blob does not decode
    await expectRejectCode(provenReadings(ctx, TWIN, {}), "INDEX_CORRUPT");
    expect(slot.effective.carried).to.equal(undefined);
    twin.blobs.set(entry.anchor.cid, stored);

    const first = provenReadings(ctx, TWIN, {}); // derivation in flight ...
    twin.apply({ kind: "records", records: [{ key: 2, readings: [d(4)], kept: true }] }); // ... when the record changes
    expect((await first).map((p) => p.reading.at)).to.deep.equal([BASE + 3 * STEP]);
    const [scanned, looked] = await twin.both({});
    expect(looked.map((p) => p.reading.at)).to.deep.equal([BASE + 4 * STEP]);
    expect(looked).to.deep.equal(scanned);
  });

  it("an erasure begun while the records are read answers TWIN_ERASED and keeps nothing", async () => {
    const twin = new Twin();
    twin.apply({
      kind: "records",
      records: [{ key: 3, readings: [{ sign: "steps", tick: 1, value: 3 }], kept: true }],
    });
    const { slot, ctx } = twin.looked;
    const read = provenReadings(ctx, TWIN, {});
    slot.erasing = true; // as eraseTwin does before destroying keys, then it clears the effective records
    slot.effective.clear();
    await expectRejectCode(read, "TWIN_ERASED");
    expect(slot.effective.carried).to.equal(undefined);
    await expectRejectCode(provenReadings(ctx, TWIN, {}), "TWIN_ERASED");
  });
});

describe("pipeline/reading-lookup", function () {
  const r = (sign: VitalSignName, at: number): VitalReading => ({ sign, at, value: 0, unit: "1" });

  it("gives a sign's positions in time order, equal times in list order, and nothing for a NaN bound", function () {
    const list = [r("heartRate", 5), r("steps", 1), r("heartRate", 1), r("heartRate", 5), r("heartRate", NaN)];
    const lookup = ReadingLookup.of(list);
    expect(lookup.positions({ signs: new Set(["heartRate"]), from: -Infinity, to: Infinity })).to.deep.equal([2, 0, 3]);
    expect(lookup.positions({ signs: new Set(["heartRate"]), from: 2, to: 5 })).to.deep.equal([]);
    expect(lookup.positions({ signs: new Set(["heartRate"]), from: 5, to: 6 })).to.deep.equal([0, 3]);
    expect(lookup.positions({ signs: undefined, from: 1, to: 2 }).sort()).to.deep.equal([1, 2]);
    expect(lookup.positions({ signs: undefined, from: NaN, to: Infinity })).to.deep.equal([]);
    expect(lookup.positions({ signs: undefined, from: 0, to: NaN })).to.deep.equal([]);
    expect(lookup.positions({ signs: new Set(), from: 0, to: 10 })).to.deep.equal([]);
  });
});
