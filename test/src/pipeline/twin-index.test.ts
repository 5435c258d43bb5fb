import { expect } from "chai";
import { ethers } from "ethers";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import {
  emptyTwinIndex,
  indexKeyOf,
  TWIN_INDEX_DATABASE,
  TwinIndexFolder,
  type TwinIndex,
} from "../../../src/pipeline/twin-index";
import { describeStore, STORE_BACKENDS, type StoreDatabase } from "../store/sql/describe-store";
import { LegacyTwinIndexFolder } from "./legacy-twin-index";

const CUSTODIAN_KEY = ethers.id("custodian key of the test");
const KEY = indexKeyOf(CUSTODIAN_KEY);

/** An index with every kind of entry (what a pipeline writes after an EMR ingest, a batch, a commit and a grant). */
function sampleIndex(seed: string): TwinIndex {
  const twinId = ethers.id(`twin:${seed}`);
  const index = emptyTwinIndex(twinId);
  const cid = `bafkrei${seed.padEnd(52, "a")}`;
  index.records.push({
    key: `Condition/${seed}-1`,
    category: 2,
    readingCount: 0,
    source: ethers.ZeroAddress,
    digest: ethers.id(`digest:${seed}`),
    anchor: {
      kind: "update",
      sequence: "1",
      contentHash: ethers.id(`content:${seed}`),
      cid,
      blockNumber: 12,
      transactionHash: ethers.id(`tx:${seed}`),
    },
  });
  index.records.push({ ...index.records[0], key: `Patient/hospital-${seed}` });
  index.batches.push({
    key: "wearable-batch/1",
    cid,
    contentHash: ethers.id(`batch:${seed}`),
    merkleRoot: ethers.id(`root:${seed}`),
    count: 8,
    from: 1_700_000_000,
    to: 1_700_003_600,
    blockNumber: 13,
    transactionHash: ethers.id(`btx:${seed}`),
    source: ethers.ZeroAddress,
  });
  index.nextBatch = 2;
  index.applies.push({
    version: 1,
    stateRoot: ethers.id(`state:${seed}`),
    records: [cid],
    batches: ["wearable-batch/1"],
  });
  index.states.push({
    version: 1,
    chainVersion: 1,
    epoch: 1,
    stateRoot: ethers.id(`state:${seed}`),
    sourcesRoot: ethers.id(`sources:${seed}`),
    blockNumber: 14,
    transactionHash: ethers.id(`stx:${seed}`),
  });
  index.grants.push({ reader: ethers.ZeroAddress, publicKey: "0x02" + "11".repeat(32), categoryMask: 2 });
  index.patientLink = ethers.id(`link:${seed}`);
  return index;
}

const byTwin = (indexes: TwinIndex[]) => [...indexes].sort((a, b) => a.twinId.localeCompare(b.twinId));

/** Issue 12, storage: the pipeline's index in the SQL store; the index files of earlier versions migrated on open. */
function twinIndexSuite(db: () => StoreDatabase): void {
  let folder: string;
  const opened: TwinIndexFolder[] = [];
  const open = (options: { key?: Uint8Array } = { key: KEY }) => {
    const f = new TwinIndexFolder(folder, {
      ...options,
      ...(db().backend === "postgres" && { databaseUrl: db().url }),
    });
    opened.push(f);
    return f;
  };
  beforeEach(() => {
    folder = join(mkdtempSync(join(tmpdir(), "twinledger-index-")), "pipeline");
  });
  afterEach(async () => {
    for (const f of opened.splice(0)) await f.close();
    rmSync(join(folder, ".."), { recursive: true, force: true });
  });

  it("migrates an old folder (sealed .twin files and a plain .json) once, on open, with nothing lost", async () => {
    const legacy = new LegacyTwinIndexFolder(folder, { key: KEY });
    const sealed = [sampleIndex("a"), sampleIndex("b"), sampleIndex("c")];
    for (const index of sealed) await legacy.save(index);
    const plain = sampleIndex("d"); // written before sealing existed
    await new LegacyTwinIndexFolder(folder).save(plain);
    // the same twin as a sealed file and an older plain file: the sealed one is the newer (as before)
    const newer = { ...sampleIndex("a"), nextIntake: 7 };
    await legacy.save(newer);
    await new LegacyTwinIndexFolder(folder).save(sampleIndex("a"));
    expect(readdirSync(folder).filter((n) => n.endsWith(".twin"))).to.have.length(3);
    expect(readdirSync(folder).filter((n) => n.endsWith(".json"))).to.have.length(2);

    const expected = byTwin([newer, sealed[1], sealed[2], plain]);
    const first = open();
    expect(byTwin(await first.loadAll())).to.deep.equal(expected);
    expect(readdirSync(folder).filter((n) => n.endsWith(".twin") || n.endsWith(".json"))).to.deep.equal([]);
    await first.close();
    // opened again: the same, from the store alone
    expect(byTwin(await open().loadAll())).to.deep.equal(expected);
  });

  it("seals an index of several cipher slices (1 Mi characters each), a pair split at a slice edge, and opens it whole", async () => {
    const index = sampleIndex("large");
    const mark = "\u0001"; // escaped by JSON.stringify as six characters: find where the key's text starts
    index.records.push({ ...index.records[0], key: mark });
    const at = JSON.stringify(index).indexOf("\\u0001");
    // the emoji's high surrogate is the last code unit of the first slice, the low one the first of the next
    const key = "a".repeat(2 ** 20 - 1 - at) + "\u{1F600}" + "é".repeat(2 ** 20 + 3);
    index.records[index.records.length - 1] = { ...index.records[0], key };
    expect(JSON.stringify(index).charCodeAt(2 ** 20 - 1)).to.equal(0xd83d);
    await open().save(index);
    const [loaded] = await open().loadAll();
    expect(loaded.records[loaded.records.length - 1].key).to.equal(key);
    expect(loaded).to.deep.equal(index);
  });

  it("saves replace a twin's row; a stale old file found later never overwrites what was saved since", async () => {
    const legacy = new LegacyTwinIndexFolder(folder, { key: KEY });
    const index = sampleIndex("e");
    await legacy.save(index);
    const stale = readdirSync(folder).find((n) => n.endsWith(".twin"))!;
    const staleBytes = readFileSync(join(folder, stale));
    const store = open();
    expect(await store.loadAll()).to.have.length(1);
    const updated = { ...index, nextIntake: 9 };
    await store.save(updated);
    await store.close();
    writeFileSync(join(folder, stale), staleBytes); // e.g. a delete that did not happen before a crash
    expect(await open().loadAll()).to.deep.equal([updated]);
    expect(existsSync(join(folder, stale))).to.equal(false);
  });

  it("keeps the contents sealed: no twin id, record key, patient link or hospital id in the database", async () => {
    const indexes = [sampleIndex("f"), sampleIndex("g")];
    const store = open();
    for (const index of indexes) await store.save(index);
    await store.close();
    let bytes: string;
    if (db().backend === "sqlite") {
      bytes = readdirSync(folder)
        .map((n) => readFileSync(join(folder, n)).toString("latin1"))
        .join("");
    } else {
      const client = new Client({ connectionString: db().url });
      await client.connect();
      const { rows } = await client.query<{ owner: string; name: string; body: Buffer }>("SELECT * FROM sealed_index");
      await client.end();
      expect(rows).to.have.length(2);
      bytes = rows.map((r) => r.owner + r.name + r.body.toString("latin1")).join("");
    }
    for (const index of indexes) {
      for (const needle of [index.twinId.slice(2), "Condition/", "Patient/hospital", index.patientLink!.slice(2)]) {
        expect(bytes.includes(needle), needle).to.equal(false);
      }
    }
  });

  it("refuses an old file that does not open with the key (INDEX_CORRUPT), moving nothing", async () => {
    const legacy = new LegacyTwinIndexFolder(folder, { key: KEY });
    await legacy.save(sampleIndex("h"));
    await new LegacyTwinIndexFolder(folder, { key: indexKeyOf(ethers.id("another custodian")) }).save(sampleIndex("i"));
    let error: unknown;
    await open()
      .loadAll()
      .catch((e: unknown) => (error = e));
    expect((error as { code?: string })?.code).to.equal("INDEX_CORRUPT");
    expect(readdirSync(folder).filter((n) => n.endsWith(".twin"))).to.have.length(2);
  });

  it("pipelines of two custodians share one database without seeing each other's indexes", async () => {
    const mine = open();
    const theirs = open({ key: indexKeyOf(ethers.id("another custodian")) });
    await mine.save(sampleIndex("j"));
    await theirs.save(sampleIndex("k"));
    expect((await mine.loadAll()).map((i) => i.twinId)).to.deep.equal([sampleIndex("j").twinId]);
    expect((await theirs.loadAll()).map((i) => i.twinId)).to.deep.equal([sampleIndex("k").twinId]);
  });
}

for (const [name, factory] of STORE_BACKENDS) {
  describeStore(`pipeline/twin-index: the index on ${name}`, factory, twinIndexSuite);
}

describe("pipeline/twin-index: the SQLite file", () => {
  it("is 0600 in a 0700 folder", async () => {
    const root = mkdtempSync(join(tmpdir(), "twinledger-index-"));
    const folder = join(root, "pipeline");
    const index = new TwinIndexFolder(folder, { key: KEY });
    try {
      await index.save(sampleIndex("m"));
      const { statSync } = await import("node:fs");
      expect(statSync(folder).mode & 0o777).to.equal(0o700);
      expect(statSync(join(folder, TWIN_INDEX_DATABASE)).mode & 0o777).to.equal(0o600);
    } finally {
      await index.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
