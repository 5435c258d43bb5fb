import { expect } from "chai";
import fc from "fast-check";
import { JsonTwinData, type ReplicaTwin } from "../../../src/evaluation/json-twin-data";
import type { ProvenReading, ReadingsQuery } from "../../../src/pipeline/reader";

const SIGNS = ["heart-rate", "spo2", "respiratory-rate", "body-temperature"] as const;

const readingArb = fc.record({
  sign: fc.constantFrom(...SIGNS),
  at: fc.integer({ min: 0, max: 200 }),
  value: fc.integer({ min: 0, max: 300 }),
});

/** The twin's readings as the pipeline answers them: by time, then sign. */
const twinOf = (readings: { sign: string; at: number; value: number }[]): ReplicaTwin =>
  ({
    twinId: `0x${"11".repeat(32)}`,
    version: {},
    anchor: null,
    records: [],
    readings: readings
      .map((r) => ({ reading: { ...r, unit: "x" }, anchor: null }))
      .sort((a, b) => a.reading.at - b.reading.at || (a.reading.sign < b.reading.sign ? -1 : 1)),
  }) as unknown as ReplicaTwin;

/** The plain scan the indexed lookup must equal. */
const scan = (twin: ReplicaTwin, q: ReadingsQuery): readonly ProvenReading[] =>
  twin.readings.filter(
    ({ reading: r }) =>
      (q.signs === undefined || q.signs.includes(r.sign)) &&
      (q.from === undefined || r.at >= q.from) &&
      (q.to === undefined || r.at < q.to),
  );

describe("evaluation/json-twin-data: the replicas' in-memory twin", () => {
  it("answers every readings query exactly as a scan of the twin does (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(readingArb, { maxLength: 80 }),
        fc.record(
          {
            signs: fc.subarray([...SIGNS], { minLength: 0 }),
            from: fc.integer({ min: -5, max: 210 }),
            to: fc.integer({ min: -5, max: 210 }),
          },
          { requiredKeys: [] },
        ),
        async (readings, query) => {
          const twin = twinOf(readings);
          const q = query as ReadingsQuery;
          expect(await new JsonTwinData(twin).readings(twin.twinId, q)).to.deep.equal(scan(twin, q));
        },
      ),
      { numRuns: 300 },
    );
  });
});
