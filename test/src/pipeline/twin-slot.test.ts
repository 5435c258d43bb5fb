import { expect } from "chai";
import type { TwinRecord } from "../../../src/fhir/records";
import { markEffective, type TwinSlot } from "../../../src/pipeline/twin-slot";
import type { RecordEntry } from "../../../src/pipeline/twin-index";
import { TwinEngine } from "../../../src/twin";
import { condition, medication } from "../twin/builders";

/** The slot fields markEffective touches; the rest are not read. */
function slotWith(engine: TwinEngine): TwinSlot {
  return { engine, effective: new Map<string, RecordEntry>() } as unknown as TwinSlot;
}

function entryOf(record: TwinRecord, label: string): RecordEntry {
  return { key: record.key, label } as unknown as RecordEntry;
}

/** The rule markEffective replaced: an entry is effective iff the version's record list holds its very object. */
function bySet(engine: TwinEngine, records: readonly TwinRecord[], entries: readonly RecordEntry[]) {
  const kept = new Set(engine.current.records);
  const out = new Map<string, RecordEntry>();
  records.forEach((record, i) => kept.has(record) && out.set(record.key, entries[i]));
  return out;
}

describe("pipeline/twin-slot: markEffective asks the engine per key", function () {
  it("marks the records the engine kept, and not older versions of a key, across applies", function () {
    const engine = new TwinEngine();
    const slot = slotWith(engine);
    const newer = condition("c1", { display: "Asthma", lastUpdated: "2026-01-05T00:00:00Z", versionId: "2" });
    const other = medication("m1");
    const first = [newer, other];
    const firstEntries = first.map((r, i) => entryOf(r, `first-${i}`));
    engine.apply({ records: first });
    markEffective(slot, first, firstEntries);
    expect(slot.effective.get("Condition/c1")).to.equal(firstEntries[0]);
    expect(slot.effective.get(other.key)).to.equal(firstEntries[1]);

    // An older version of c1 arrives later: the engine keeps the newer one, the entry stays.
    const older = condition("c1", { display: "Asthma?", lastUpdated: "2025-01-05T00:00:00Z", versionId: "1" });
    const second = [older];
    const secondEntries = [entryOf(older, "second-0")];
    engine.apply({ records: second });
    const expected = bySet(engine, second, secondEntries);
    markEffective(slot, second, secondEntries);
    expect(engine.effectiveRecord("Condition/c1")).to.equal(newer);
    expect(slot.effective.get("Condition/c1")).to.equal(firstEntries[0]);
    expect(expected.size).to.equal(0);
  });

  it("within one batch only the version the engine kept is marked, the same as the set-based rule", function () {
    const engine = new TwinEngine();
    const slot = slotWith(engine);
    const v1 = condition("c2", { display: "Gout", lastUpdated: "2025-06-01T00:00:00Z", versionId: "1" });
    const v3 = condition("c2", {
      display: "Gout",
      status: "resolved",
      lastUpdated: "2026-06-01T00:00:00Z",
      versionId: "3",
    });
    const v2 = condition("c2", {
      display: "Gout",
      status: "active",
      lastUpdated: "2026-01-01T00:00:00Z",
      versionId: "2",
    });
    const records = [v1, v3, v2];
    const entries = records.map((r, i) => entryOf(r, `e${i}`));
    engine.apply({ records });
    const expected = bySet(engine, records, entries);
    markEffective(slot, records, entries);
    expect(slot.effective).to.deep.equal(expected);
    expect(slot.effective.get("Condition/c2")).to.equal(entries[1]);
  });

  it("does nothing for an erased twin (no engine) or an empty apply", function () {
    const slot = { engine: null, effective: new Map() } as unknown as TwinSlot;
    markEffective(slot, [condition("c3")], [entryOf(condition("c3"), "x")]);
    expect(slot.effective.size).to.equal(0);
  });
});
