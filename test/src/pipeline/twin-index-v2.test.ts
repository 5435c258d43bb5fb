import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers } from "ethers";
import { verifyRecordProof, cidHashOf } from "../../../src/chain/anchors";
import { BENCHMARK_PATIENT_ID, bundleChunks } from "../../../src/evaluation/fhir-ingest";
import type { RecordAnchor } from "../../../src/pipeline/reader";
import { recordAnchorsOf } from "../../../src/pipeline/record-proofs";
import { parseCid } from "../../../src/store";
import { SqliteSealedIndexStore } from "../../../src/store/sql";
import {
  indexKeyOf,
  TWIN_INDEX_DATABASE,
  TWIN_INDEX_FORMAT,
  TwinIndexFolder,
  type TwinIndex,
} from "../../../src/pipeline/twin-index";
import { ALL_CATEGORIES } from "../../../src/vocabulary";
import { expectRejectCode } from "../crypto/expect-error";
import { cohortSmall, removeFolders, startService, withConditionNotes, type Service } from "./harness";
import { smallBundle } from "./small-bundle";

/**
 * Issue 11, defect 8 (size): the twin index stores each record batch once (format /2), no per-record proof; proofs
 * are computed when asked and equal those the anchoring gave; an index of format /1 migrates on open; an EMR ingest
 * saves the index twice (the journal, then once after the commit).
 */

/** A /1 index written by the pipeline before format /2 (a twin of 3 records over 2 ingests: see small-bundle.ts). */
const V1_FIXTURE = join(__dirname, "twin-index-v1.fixture.json");
type V1Index = { format: string; twinId: string; records: { anchor: RecordAnchor }[] };
const v1Fixture = () => JSON.parse(readFileSync(V1_FIXTURE, "utf8")) as V1Index;

/** The index in format /1 (each record's whole anchor and proof), as the pipeline wrote it before /2. */
function asV1(index: TwinIndex, anchors: readonly RecordAnchor[]): V1Index {
  const { recordBatches: _batches, records, ...rest } = index;
  return {
    ...rest,
    format: "twinledger-pipeline-twin/1",
    records: records.map((entry, i) => ({
      key: entry.key,
      category: entry.category,
      readingCount: entry.readingCount,
      anchor: anchors[i],
      source: anchors[i].kind === "records" ? anchors[i].source : (entry.source ?? ""),
      ...(entry.digest !== undefined ? { digest: entry.digest } : {}),
    })),
  };
}

describe("pipeline/twin-index /2: record batches stored once, a /1 index migrated", () => {
  let root: string;
  const opened: TwinIndexFolder[] = [];
  const open = (key?: Uint8Array) => {
    const folder = new TwinIndexFolder(join(root, "pipeline"), key === undefined ? {} : { key });
    opened.push(folder);
    return folder;
  };
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "twinledger-index-v2-"));
  });
  afterEach(async () => {
    for (const folder of opened.splice(0)) await folder.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("migrates a /1 index on open: one entry per batch, no proof stored, the same anchors computed", async () => {
    const key = indexKeyOf(ethers.id("custodian of the fixture"));
    const v1 = v1Fixture();
    await open(key).save(v1 as unknown as TwinIndex); // as the /1 code saved it
    const [migrated] = await open(key).loadAll();
    expect(migrated.format).to.equal(TWIN_INDEX_FORMAT);
    expect(migrated.recordBatches.map((b) => [b.sequence, b.leafCount])).to.deep.equal([
      ["1", 2],
      ["2", 1],
    ]);
    expect(JSON.stringify(migrated)).to.not.include('"proof"');
    expect(recordAnchorsOf({}, migrated, migrated.records)).to.deep.equal(v1.records.map((r) => r.anchor));
    // written back as /2: opened again, the same, without migrating
    const [again] = await open(key).loadAll();
    expect(again).to.deep.equal(migrated);
  });

  it("refuses a /1 index whose batch does not give its root (INDEX_CORRUPT) and leaves it as it was", async () => {
    const v1 = v1Fixture();
    const tampered = v1.records[1].anchor as { contentHash: string };
    tampered.contentHash = ethers.id("another envelope");
    await open().save(v1 as unknown as TwinIndex);
    const error = await expectRejectCode(open().loadAll(), "INDEX_CORRUPT");
    expect(error.message).to.include("record batch 0");
    const store = new SqliteSealedIndexStore(join(root, "pipeline", TWIN_INDEX_DATABASE), { fsync: false });
    try {
      const [row] = await store.loadAll("plain");
      expect(JSON.parse(Buffer.from(row.body).toString("utf8"))).to.deep.equal(v1);
    } finally {
      await store.close();
    }
  });
});

describe("pipeline/twin-index /2: the pipeline serves the proofs its anchoring gave", function () {
  let service: Service;
  /** What each index save held when it was made. */
  let saves: { pending: number; records: number; states: number; chars: number }[];
  /** A save that fails (by its position, 0 first), as a process killed before it wrote. */
  let failSave: number | undefined;
  const save = TwinIndexFolder.prototype.save;
  beforeEach(async () => {
    service = await startService();
    saves = [];
    failSave = undefined;
    TwinIndexFolder.prototype.save = function (this: TwinIndexFolder, index: TwinIndex) {
      if (saves.length === failSave) return Promise.reject(new Error("killed before the index was written"));
      const chars = JSON.stringify(index).length;
      const pending = index.pendingAnchors?.length ?? 0;
      saves.push({ pending, records: index.records.length, states: index.states.length, chars });
      return save.call(this, index);
    };
  });
  afterEach(async () => {
    TwinIndexFolder.prototype.save = save;
    await removeFolders(service?.folders);
  });

  /** Every record's anchor as the pipeline answers: `anchors`, `records` (by cid) and the readings' record anchors. */
  async function served(pipeline: Service["pipeline"], twinId: string) {
    const byCid = new Map<string, RecordAnchor>();
    for (const proven of await pipeline.records(twinId, ALL_CATEGORIES)) byCid.set(proven.anchor.cid, proven.anchor);
    for (const proven of await pipeline.readings(twinId, {})) {
      if (proven.recordAnchor) expect(proven.recordAnchor).to.deep.equal(byCid.get(proven.recordAnchor.cid));
    }
    return { anchors: pipeline.anchors(twinId).records, byCid };
  }

  it("answers the anchoring's proofs (each verifies), the same after a restart; two saves per ingest", async () => {
    const { pipeline, f } = service;
    const bundle = (await cohortSmall()).patients[1].emr;
    const first = await pipeline.ingestEmr(f.twinId, bundle, { sourceSigner: f.emr });
    // the journal before the send; then once the records, the apply and the state after the commit
    expect(saves.map((s) => [s.pending, s.records, s.states])).to.deep.equal([
      [1, 0, 0],
      [0, first.records, 1],
    ]);
    const second = await pipeline.ingestEmr(f.twinId, withConditionNotes(bundle, 1), { sourceSigner: f.emr });
    expect(second.records).to.be.greaterThan(0);
    expect(saves).to.have.length(4);
    const expected = [...first.anchors, ...second.anchors];

    const before = await served(pipeline, f.twinId);
    expect(before.anchors).to.deep.equal(expected);
    for (const anchor of expected) {
      expect(before.byCid.get(anchor.cid) ?? anchor).to.deep.equal(anchor);
      const cidHash = cidHashOf(parseCid(anchor.cid).bytes);
      expect(
        verifyRecordProof(anchor.recordsRoot, anchor.category, anchor.contentHash, cidHash, anchor.proof),
      ).to.equal(true);
    }
    await pipeline.close();
    const restarted = await service.restart();
    const after = await served(restarted, f.twinId);
    expect(after.anchors).to.deep.equal(expected);
    expect([...after.byCid]).to.deep.equal([...before.byCid]);
    await restarted.close();
  });

  it("the save after the commit lost: the restart redoes the apply and the commit from the journal, anchors once", async () => {
    const { pipeline, f } = service;
    failSave = 1;
    const bundle = (await cohortSmall()).patients[1].emr;
    let failed: unknown;
    await pipeline.ingestEmr(f.twinId, bundle, { sourceSigner: f.emr }).catch((e: unknown) => (failed = e));
    expect(String(failed)).to.include("killed before the index was written");
    expect(saves).to.have.length(1);
    const committed = await f.updateLog.twinStateOf(f.twinId);
    expect(committed.version).to.equal(1n);
    await pipeline.close();
    failSave = undefined;
    const restarted = await service.restart();
    const anchors = restarted.anchors(f.twinId);
    expect(anchors.records.length).to.be.greaterThan(0);
    expect((await f.updateLog.logHeadOf(f.twinId)).sequence).to.equal(1n); // one record batch, not sent again
    // the version committed again from the journal: the same state root as the lost save's commit
    expect(anchors.states.map((s) => s.stateRoot)).to.deep.equal([committed.stateRoot]);
    expect((await f.updateLog.twinStateOf(f.twinId)).stateRoot).to.equal(committed.stateRoot);
    const again = await restarted.ingestEmr(f.twinId, bundle, { sourceSigner: f.emr });
    expect(again.records).to.equal(0);
    await restarted.close();
  });

  it("a /1 index the pipeline wrote migrates on restart and serves the same proofs", async () => {
    const { pipeline, f } = service;
    await pipeline.ingestEmr(f.twinId, smallBundle(1), { sourceSigner: f.emr });
    await pipeline.ingestEmr(f.twinId, smallBundle(2), { sourceSigner: f.emr, patient: "Patient/p-small" });
    const before = await served(pipeline, f.twinId);
    await pipeline.close();
    const folder = new TwinIndexFolder(service.folders.indexFolder, { key: indexKeyOf(service.custodianKey) });
    const [index] = await folder.loadAll();
    await folder.save(asV1(index, before.anchors) as unknown as TwinIndex);
    await folder.close();
    const restarted = await service.restart();
    const after = await served(restarted, f.twinId);
    expect(after.anchors).to.deep.equal(before.anchors);
    expect([...after.byCid]).to.deep.equal([...before.byCid]);
    await restarted.close();
    const reopened = new TwinIndexFolder(service.folders.indexFolder, { key: indexKeyOf(service.custodianKey) });
    expect((await reopened.loadAll()).map((i) => i.format)).to.deep.equal([TWIN_INDEX_FORMAT]);
    await reopened.close();
  });

  it("at 2,000 records the index is a fraction of what /1 stored (no proofs), saved twice", async function () {
    this.timeout(180_000);
    const { pipeline, f } = service;
    const text = [...bundleChunks(2_000, BENCHMARK_PATIENT_ID)].join("");
    const summary = await pipeline.ingestEmr(f.twinId, text, {
      sourceSigner: f.emr,
      patient: `Patient/${BENCHMARK_PATIENT_ID}`,
    });
    expect(summary.records).to.be.greaterThanOrEqual(2_000);
    expect(saves).to.have.length(2);
    await pipeline.close();
    const folder = new TwinIndexFolder(service.folders.indexFolder, { key: indexKeyOf(service.custodianKey) });
    const [index] = await folder.loadAll();
    await folder.close();
    const v2 = JSON.stringify(index).length;
    expect(v2).to.equal(saves[1].chars);
    const v1 = JSON.stringify(asV1(index, summary.anchors)).length;
    console.log(`      2,000-record twin index: /1 ${v1} characters, /2 ${v2} (÷${(v1 / v2).toFixed(1)})`);
    expect(v1 / v2).to.be.greaterThan(3);
    // the answers still carry every proof, equal to the anchoring's
    const restarted = await service.restart();
    expect(restarted.anchors(f.twinId).records).to.deep.equal(summary.anchors);
    await restarted.close();
  });
});
