import { expect } from "chai";
import fc from "fast-check";
import { FhirValidationError, generateCohort, ingest } from "../../../src/fhir";
import { DataCategory } from "../../../src/vocabulary";
import { sample, vitalObservation } from "./helpers";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Paths (as key lists) of every primitive value in a JSON tree. */
function leaves(value: Json, at: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== "object") return [at];
  const keys: (string | number)[] = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return keys.flatMap((k) => leaves((value as Record<string | number, Json>)[k], [...at, k]));
}

function replaced(root: Json, at: (string | number)[], by: Json): Json {
  const copy = JSON.parse(JSON.stringify(root)) as Json;
  let node = copy as Record<string | number, Json>;
  for (const key of at.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  node[at[at.length - 1]] = by;
  return copy;
}

/** Values no valid FHIR resource holds where they are put, each carrying a marker that must not leak. */
const SENTINELS: Json[] = [
  "Zq-SENTINEL-31337",
  " Zq-SENTINEL-31337 ",
  4242.123456,
  -98765.4321,
  { text: "Zq-SENTINEL-31337" },
  ["Zq-SENTINEL-31337"],
];

describe("fhir: properties", () => {
  const cohort = generateCohort({ seed: 5, patients: 2, days: 1, intervalSeconds: 3600 });
  const inputs: Json[] = [
    vitalObservation() as Json,
    sample("observation-example-bloodpressure.json") as Json,
    sample("patient-example.json") as Json,
    cohort.patients[1].emr as unknown as Json,
  ];

  it("property: refusing a corrupted resource never repeats the corrupting value", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: inputs.length - 1 }),
        fc.nat(),
        fc.nat({ max: SENTINELS.length - 1 }),
        (which, leafIndex, sentinelIndex) => {
          const input = inputs[which];
          const paths = leaves(input);
          const at = paths[leafIndex % paths.length];
          const corrupted = replaced(input, at, SENTINELS[sentinelIndex]);
          try {
            ingest(corrupted);
          } catch (error) {
            expect(error).to.be.instanceOf(FhirValidationError);
            const e = error as FhirValidationError;
            expect(e.message).to.not.match(/SENTINEL|31337|4242|98765/);
            expect(e.path).to.not.match(/SENTINEL/);
            expect(e.path.length).to.be.greaterThan(0);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it("property: a corrupted bundle yields either a complete result or nothing", () => {
    const emr = cohort.patients[1].emr as unknown as Json;
    const complete = ingest(emr);
    fc.assert(
      fc.property(fc.nat(), fc.nat({ max: SENTINELS.length - 1 }), (leafIndex, sentinelIndex) => {
        const paths = leaves(emr);
        const corrupted = replaced(emr, paths[leafIndex % paths.length], SENTINELS[sentinelIndex]);
        let result: ReturnType<typeof ingest> | undefined;
        try {
          result = ingest(corrupted);
        } catch {
          return; // refused: nothing came back
        }
        // accepted: every entry was modelled or counted, as in the uncorrupted bundle
        const counted = result.records.length + Object.values(result.skipped).reduce((a, b) => a + b, 0);
        expect(counted).to.equal(complete.records.length);
        expect(result.records.every((r) => Object.values(DataCategory).includes(r.category))).to.equal(true);
      }),
      { numRuns: 200 },
    );
  });
});
