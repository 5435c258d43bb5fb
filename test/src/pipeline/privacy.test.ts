import { expect } from "chai";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { time } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { pad, padmeLength, unpad } from "../../../src/crypto";
import type { TwinRecord } from "../../../src/fhir/records";
import { ReaderSync, RECORD_PADDING, TwinPipeline } from "../../../src/pipeline";
import { decodeRecord, encodeRecord } from "../../../src/pipeline/blob-codec";
import { type BlobStore, RecordVault } from "../../../src/store";
import { Action, DataCategory, Purpose, SourceKind } from "../../../src/vocabulary";
import { createTwinOf, WEARABLE_CATEGORIES } from "../../fixtures";
import { expectRejectCode } from "../crypto/expect-error";
import { cohortSmall, newWallet, removeFolders, reopenFolders, startService, type Service } from "./harness";

const HOUR = 60 * 60_000;

async function observations(n: number) {
  const cohort = await cohortSmall();
  const all = (cohort.patients[1].wearable.entry ?? [])
    .map((e) => e.resource)
    .filter((r) => r?.resourceType === "Observation");
  return all.slice(0, n);
}

/** Every file and folder under a root, with its mode. */
async function modes(root: string): Promise<{ path: string; dir: boolean; mode: number }[]> {
  const out: { path: string; dir: boolean; mode: number }[] = [];
  for (const name of await readdir(root)) {
    const path = join(root, name);
    const info = await stat(path);
    out.push({ path, dir: info.isDirectory(), mode: info.mode & 0o777 });
    if (info.isDirectory()) out.push(...(await modes(path)));
  }
  return out;
}

describe("pipeline/privacy (issue 10: counts, sizes, links, grants, erasure races)", function () {
  let service: Service | undefined;
  afterEach(() => removeFolders(service?.folders));

  it("regression: two streams with very different counts make the same number of anchors and same-size blobs", async () => {
    service = await startService({ batchPolicy: { mode: "cadence", maxReadings: 256, maxAgeMs: HOUR } });
    const { pipeline, f, clock, folders } = service;
    const other = await createTwinOf(f.registry, f.guardian, "stream-b", f.hospital);
    await f.registry
      .connect(f.guardian)
      .authorizeSource(other, f.wearable.address, SourceKind.Device, WEARABLE_CATEGORIES);
    const days = 2;
    for (let day = 0; day < days; day++) {
      const few = await pipeline.ingestWearable(f.twinId, await observations(4), { deviceSigner: f.wearable });
      const many = await pipeline.ingestWearable(other, await observations(150), { deviceSigner: f.wearable });
      expect(few.flushed).to.equal(null); // never on count: only at the end of the period
      expect(many.flushed).to.equal(null);
      clock.now += HOUR;
      const due = await pipeline.flushDue();
      expect(due.failed).to.deep.equal([]);
      expect(due.flushed.map((s) => s.batches.length)).to.deep.equal([1, 1]);
    }
    const anchorsOf = async (twinId: string) =>
      (await f.updateLog.queryFilter(f.updateLog.filters.BatchAnchored(twinId))).length;
    expect(await anchorsOf(f.twinId)).to.equal(days);
    expect(await anchorsOf(other)).to.equal(days);
    const sizes = new Set<number>();
    for (const twinId of [f.twinId, other]) {
      for (const batch of pipeline.anchors(twinId).batches) sizes.add((await folders.blobs.get(batch.cid)).length);
    }
    expect(sizes.size).to.equal(1);
    // the counts are in the index and the readings answer as before
    const anchored = pipeline.anchors(other).batches.reduce((sum, b) => sum + b.count, 0);
    expect(anchored).to.be.greaterThan(100 * days);
    expect((await pipeline.readings(other, {})).filter((r) => r.anchor !== null)).to.have.length(anchored);
  });

  it("regression: records of different conditions in one bucket seal to equal sizes; unpadded blobs still open", async () => {
    const condition = (id: string, display: string): TwinRecord =>
      ({
        key: `Condition/${id}`,
        category: DataCategory.CONDITIONS,
        resource: {
          resourceType: "Condition",
          id,
          code: { coding: [{ display }] },
          subject: { reference: "Patient/1" },
        },
      }) as unknown as TwinRecord;
    const a = condition("c1", "Hypertension");
    const b = condition("c1", "Diabetes mellitus type 2 (disorder)");
    const plainA = new TextEncoder().encode(JSON.stringify({ x: a }));
    const plainB = new TextEncoder().encode(JSON.stringify({ x: b }));
    expect(plainA.length).to.not.equal(plainB.length);
    const encodedA = encodeRecord(a, []);
    const encodedB = encodeRecord(b, []);
    expect(encodedA.length).to.equal(encodedB.length); // one bucket (the 512-byte floor)
    const vault = new RecordVault(
      new (await import("../../../src/store")).MemoryBlobStore(),
      new (await import("../../../src/store")).MemoryKeyStore(),
    );
    const custodian = newWallet();
    const twinId = `0x${"ab".repeat(32)}`;
    const context = { twinId, recordKey: "Condition/c1", category: DataCategory.CONDITIONS };
    const sealedA = await vault.put(encodedA, context, [custodian.signingKey.publicKey]);
    const sealedB = await vault.put(encodedB, context, [custodian.signingKey.publicKey]);
    expect(sealedA.size).to.equal(sealedB.size);
    expect(decodeRecord(await vault.read(sealedB.cid, context, custodian), "Condition/c1").record).to.deep.equal(b);
    // a blob sealed before padding (the bare canonical JSON) still opens
    const legacy = new TextEncoder().encode(JSON.stringify({ format: "twinledger-record/2", record: a, readings: [] }));
    const old = await vault.put(legacy, context, [custodian.signingKey.publicKey]);
    expect(decodeRecord(await vault.read(old.cid, context, custodian), "Condition/c1").record).to.deep.equal(a);
    expect(unpad(legacy)).to.equal(legacy);
    // Padmé: at most ~12 % over the floor
    for (const n of [600, 1000, 5000, 100_000])
      expect(pad(new Uint8Array(n), RECORD_PADDING).length).to.be.at.most(n * 1.12 + 1);
    expect(padmeLength(1000)).to.equal(1024);
  });

  it("regression: the index holds no hospital id in clear, files are 0600 and folders 0700, erasure drops the links", async () => {
    service = await startService();
    const { pipeline, f, folders } = service;
    const cohort = await cohortSmall();
    await pipeline.ingestEmr(f.twinId, cohort.patients[1].emr, { sourceSigner: f.emr });
    await pipeline.grantReader(f.twinId, newWallet().signingKey.publicKey, DataCategory.CONDITIONS);
    const twinHex = f.twinId.slice(2).toLowerCase();
    const scanIndex = async () => {
      const names = await readdir(folders.indexFolder);
      expect(names.some((n) => n.includes(twinHex))).to.equal(false);
      const text = Buffer.concat(await Promise.all(names.map((n) => readFile(join(folders.indexFolder, n))))).toString(
        "latin1",
      );
      for (const needle of ["Patient/", "Condition/", twinHex]) expect(text.includes(needle), needle).to.equal(false);
    };
    await scanIndex();
    for (const entry of await modes(folders.root)) {
      expect(entry.mode, entry.path).to.equal(entry.dir ? 0o700 : 0o600);
    }
    // a restarted pipeline answers the same
    const restarted = await service.restart();
    expect(restarted.version(f.twinId).version.stateRoot).to.equal(pipeline.version(f.twinId).version.stateRoot);

    await f.registry.connect(f.patient).eraseTwin(f.twinId);
    await pipeline.erase(f.twinId);
    await scanIndex();
    const afterErasure = await service.restart();
    expect(afterErasure.holding(f.twinId)).to.equal("erased");
    expect(afterErasure.anchors(f.twinId).records.length).to.equal(pipeline.anchors(f.twinId).records.length);
  });

  it("regression: sealing follows the grant: narrowed categories lose their keys, nothing is sealed after validUntil", async () => {
    service = await startService();
    const { pipeline, f, folders, clock } = service;
    const cohort = await cohortSmall();
    await pipeline.ingestEmr(f.twinId, cohort.patients[1].emr, { sourceSigner: f.emr });
    const doctor = newWallet();
    const wide = DataCategory.CONDITIONS | DataCategory.MEDICATIONS;
    await pipeline.grantReader(f.twinId, doctor.signingKey.publicKey, wide);
    const cidsOf = (category: number) =>
      pipeline
        .anchors(f.twinId)
        .records.filter((a) => a.kind === "records" && a.category === category)
        .map((a) => a.cid);
    const has = (cid: string) => folders.keys.has({ twinId: f.twinId, recordCid: cid, reader: doctor.address });
    const meds = cidsOf(DataCategory.MEDICATIONS);
    expect(meds.length).to.be.greaterThan(0);
    expect(await has(meds[0])).to.equal(true);
    const narrowed = await pipeline.grantReader(f.twinId, doctor.signingKey.publicKey, DataCategory.CONDITIONS, {
      validUntil: Math.floor(clock.now / 1000) + 3600,
    });
    expect(narrowed.categoryMask).to.equal(DataCategory.CONDITIONS);
    expect(narrowed.removedKeys).to.equal(meds.length);
    for (const cid of meds) expect(await has(cid)).to.equal(false);
    expect(pipeline.readersOf(f.twinId, DataCategory.CONDITIONS)).to.deep.equal([doctor.address]);
    clock.now += 2 * HOUR; // past validUntil
    expect(pipeline.readersOf(f.twinId, DataCategory.CONDITIONS)).to.deep.equal([]);
    const { withConditionNotes } = await import("./harness");
    const again = await pipeline.ingestEmr(f.twinId, withConditionNotes(cohort.patients[1].emr, 1), {
      sourceSigner: f.emr,
    });
    for (const anchor of again.anchors) expect(await has(anchor.cid)).to.equal(false);
    expect(await pipeline.expireGrants()).to.equal(1);
    for (const cid of cidsOf(DataCategory.CONDITIONS)) expect(await has(cid)).to.equal(false);
  });

  it("regression: ReaderSync follows ConsentGranted, ConsentUpdated and ConsentRevoked on the hardhat network", async () => {
    service = await startService();
    const { pipeline, f, folders, clock } = service;
    const cohort = await cohortSmall();
    await pipeline.ingestEmr(f.twinId, cohort.patients[1].emr, { sourceSigner: f.emr });
    const doctorKey = newWallet();
    const stranger = newWallet();
    const grantee = doctorKey.address;
    // the directory knows the reader's public key (e.g. recovered from its signed requests)
    const sync = new ReaderSync({
      consent: f.consent,
      pipeline,
      publicKeyOf: (reader) =>
        reader === grantee
          ? doctorKey.signingKey.publicKey
          : reader === stranger.address
            ? doctorKey.signingKey.publicKey
            : undefined,
    });
    const now = await time.latest();
    clock.now = now * 1000;
    const wide = DataCategory.CONDITIONS | DataCategory.MEDICATIONS;
    await f.consent
      .connect(f.patient)
      .grant(f.twinId, grantee, wide, Action.READ, Purpose.TREATMENT, now, now + 86_400);
    // a directory entry whose key is not the grantee's is not trusted: nothing is sealed for it
    await f.consent
      .connect(f.patient)
      .grant(f.twinId, stranger.address, wide, Action.READ, Purpose.TREATMENT, now, now + 86_400);
    let report = await sync.sync();
    expect(report.granted).to.equal(1);
    expect(report.unknownReaders).to.deep.equal([stranger.address]);
    const readerAddress = doctorKey.address;
    expect(pipeline.readersOf(f.twinId, DataCategory.MEDICATIONS)).to.deep.equal([readerAddress]);
    await f.consent
      .connect(f.patient)
      .updateGrant(f.twinId, grantee, DataCategory.CONDITIONS, Action.READ, Purpose.TREATMENT, now, now + 86_400);
    report = await sync.sync();
    expect(pipeline.readersOf(f.twinId, DataCategory.MEDICATIONS)).to.deep.equal([]);
    expect(pipeline.readersOf(f.twinId, DataCategory.CONDITIONS)).to.deep.equal([readerAddress]);
    const med = pipeline
      .anchors(f.twinId)
      .records.find((a) => a.kind === "records" && a.category === DataCategory.MEDICATIONS);
    expect(await folders.keys.has({ twinId: f.twinId, recordCid: med?.cid ?? "", reader: readerAddress })).to.equal(
      false,
    );
    await f.consent.connect(f.patient).revoke(f.twinId, grantee);
    report = await sync.sync();
    expect(report.withdrawn).to.equal(2); // the grantee, and the stranger retried (still unknown)
    expect(pipeline.readersOf(f.twinId, DataCategory.CONDITIONS)).to.deep.equal([]);
    expect(await folders.keys.countKeys(f.twinId)).to.be.greaterThan(0);
    const cond = pipeline
      .anchors(f.twinId)
      .records.find((a) => a.kind === "records" && a.category === DataCategory.CONDITIONS);
    expect(await folders.keys.has({ twinId: f.twinId, recordCid: cond?.cid ?? "", reader: readerAddress })).to.equal(
      false,
    );
  });

  it("regression: a read in flight when erase() runs returns no plaintext and caches nothing", async () => {
    service = await startService();
    const { pipeline, f, custodianKey, patientKey } = service;
    const cohort = await cohortSmall();
    await pipeline.ingestEmr(f.twinId, cohort.patients[1].emr, { sourceSigner: f.emr });
    await pipeline.ingestWearable(f.twinId, await observations(20), { deviceSigner: f.wearable });
    await pipeline.flush(f.twinId, { deviceSigner: f.wearable });
    // a restarted service over a blob store whose reads the test holds back
    const stores = reopenFolders(service.folders.root);
    let hold: { reached: () => void; release: Promise<void> } | undefined;
    const gated: BlobStore = {
      put: (bytes) => stores.blobs.put(bytes),
      has: (cid) => stores.blobs.has(cid),
      delete: (cid) => stores.blobs.delete(cid),
      async get(cid) {
        const bytes = await stores.blobs.get(cid);
        if (hold) {
          hold.reached();
          await hold.release;
        }
        return bytes;
      },
    };
    const second = await TwinPipeline.open({
      updateLog: f.updateLog,
      vault: new RecordVault(gated, stores.keys),
      custodianKey,
      custodianSigner: f.hospital,
      patientPublicKey: () => patientKey.signingKey.publicKey,
      indexFolder: stores.indexFolder,
      fsync: false,
    });
    let release!: () => void;
    let reached!: () => void;
    const gotThere = new Promise<void>((resolve) => (reached = resolve));
    hold = { reached, release: new Promise<void>((resolve) => (release = resolve)) };
    const inFlight = second.readings(f.twinId, {}); // opens the batch blob: held
    await gotThere;
    await f.registry.connect(f.patient).eraseTwin(f.twinId);
    await second.erase(f.twinId);
    release();
    await expectRejectCode(inFlight, "TWIN_ERASED");
    hold = undefined;
    await expectRejectCode(second.readings(f.twinId, {}), "TWIN_ERASED");
    await expectRejectCode(second.records(f.twinId, 0xffffffff), "TWIN_ERASED");
  });
});
