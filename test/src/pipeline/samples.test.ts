import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ingest, parseFhirJson } from "../../../src/fhir";
import { TwinLedgerError } from "../../../src/errors";
import { ALL_CATEGORIES, SourceKind } from "../../../src/vocabulary";
import { createTwinOf } from "../../fixtures";
import { removeFolders, SAMPLES, startService, type Service } from "./harness";

/**
 * Every shared FHIR sample (../shared/fhir-samples and its real-world/ folder) through the whole pipeline, each on a
 * twin of its own: what ingest accepts is stored, sealed, anchored in one record batch and answered back record for
 * record; what it refuses (or holds nothing the twin models) is refused by the pipeline with a typed error and leaves
 * nothing behind. The NDJSON PHR export is covered by the fhir tests (the pipeline takes Bundles and resources).
 */
const files = [
  ...readdirSync(SAMPLES)
    .filter((f) => f.endsWith(".json"))
    .map((f) => join(SAMPLES, f)),
  ...readdirSync(join(SAMPLES, "real-world"))
    .filter((f) => f.endsWith(".json"))
    .map((f) => join(SAMPLES, "real-world", f)),
];

describe("pipeline/samples: every shared FHIR sample through the pipeline", function () {
  let service: Service;
  before(async () => {
    service = await startService();
  });
  after(() => removeFolders(service?.folders));

  it("finds the shared samples, real-world/ included", () => {
    expect(files.length).to.be.greaterThan(20);
    expect(files.some((f) => f.includes("real-world"))).to.equal(true);
  });

  files.forEach((file, n) => {
    const name = file.slice(SAMPLES.length + 1);
    it(`${name}: stored and answered as ingest models it, or refused with nothing stored`, async () => {
      const { pipeline, f } = service;
      const text = readFileSync(file, "utf8");
      let expected: number | null;
      try {
        expected = ingest(parseFhirJson(text), { origin: "emr" }).records.length;
      } catch {
        expected = null;
      }
      const twinId = await createTwinOf(f.registry, f.patient, `sample:${n}`, f.hospital);
      await (
        await f.registry.connect(f.patient).authorizeSource(twinId, f.emr.address, SourceKind.Emr, ALL_CATEGORIES)
      ).wait();
      const head = await f.updateLog.logHeadOf(twinId);
      if (expected === null || expected === 0) {
        let thrown: unknown;
        try {
          await pipeline.ingestEmr(twinId, text, { sourceSigner: f.emr });
        } catch (error) {
          thrown = error;
        }
        expect(thrown, name).to.be.instanceOf(TwinLedgerError);
        expect(pipeline.holding(twinId)).to.equal("unknown");
        expect((await f.updateLog.logHeadOf(twinId)).sequence).to.equal(head.sequence);
        return;
      }
      const summary = await pipeline.ingestEmr(twinId, text, { sourceSigner: f.emr });
      expect(summary.records).to.equal(expected);
      expect(summary.anchors).to.have.length(expected);
      expect((await f.updateLog.logHeadOf(twinId)).sequence).to.equal(head.sequence + 1n);
      const answered = await pipeline.records(twinId, 0xffffffff);
      expect(answered.map((p) => p.record.key).sort()).to.deep.equal(
        summary.anchors.map((a) => keyOf(a, answered)).sort(),
      );
    });
  });
});

/** The record key answered for an anchor (by its content id). */
function keyOf(anchor: { cid: string }, answered: readonly { record: { key: string }; anchor: { cid: string } }[]) {
  return answered.find((p) => p.anchor.cid === anchor.cid)?.record.key ?? "missing";
}
