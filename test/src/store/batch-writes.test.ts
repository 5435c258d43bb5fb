import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hexlify, Wallet } from "ethers";
import { publicKeyOf, wrapDataKey } from "../../../src/crypto";
import {
  cidOf,
  FolderKeyStore,
  LocalFolderBlobStore,
  MemoryBlobStore,
  MemoryKeyStore,
  RecordVault,
  type RecordToSeal,
} from "../../../src/store";
import { writeFilesAtomic } from "../../../src/store/atomic-file";
import { DataCategory } from "../../../src/vocabulary";
import { expectRejectCode } from "../crypto/expect-error";

const newWallet = () => new Wallet(hexlify(randomBytes(32)));
const TWIN = "0x" + "0c".repeat(32);

function records(count: number, readers: readonly Wallet[]): RecordToSeal[] {
  return Array.from({ length: count }, (_, i) => ({
    plaintext: new TextEncoder().encode(`{"resourceType":"Observation","id":"o-${i}"}`),
    context: { twinId: TWIN, recordKey: `Observation/o-${i}`, category: DataCategory.VITALS },
    readers: readers.map((reader) => publicKeyOf(reader)),
  }));
}

/** Every file under a folder, recursively, by name. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) out.push(...(await filesUnder(join(dir, entry.name))));
    else out.push(entry.name);
  }
  return out;
}

describe("store: batched writes (putMany)", () => {
  const hospital = newWallet();
  const patient = newWallet();
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "twinledger-batch-"));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  for (const fsync of [false, true]) {
    it(`stores a batch that reads back as put would (folder stores, fsync ${fsync}), leaving no temporary file`, async () => {
      const blobs = new LocalFolderBlobStore(join(root, "blobs"), { fsync });
      const keys = new FolderKeyStore(join(root, "keys"), { fsync });
      const vault = new RecordVault(blobs, keys);
      const batch = records(40, [hospital, patient]);
      const stored = await vault.putMany(batch);
      expect(stored).to.have.length(40);
      for (const [i, record] of stored.entries()) {
        expect(record.readers).to.deep.equal([hospital.address, patient.address]);
        for (const reader of [hospital, patient]) {
          const plain = await vault.read(record.cid, batch[i].context, reader);
          expect(new TextDecoder().decode(plain)).to.equal(new TextDecoder().decode(batch[i].plaintext));
        }
      }
      expect(await keys.countKeys(TWIN)).to.equal(80);
      const names = [...(await filesUnder(blobs.root)), ...(await filesUnder(keys.root))];
      expect(names.filter((name) => name.endsWith(".tmp"))).to.deep.equal([]);
    });
  }

  it("writes one key pack per twin; a put replaces a packed key, and a later batch replaces the put's key file", async () => {
    const keys = new FolderKeyStore(join(root, "keys"), { fsync: false });
    const readers = [hospital, patient];
    const cids = Array.from({ length: 7 }, () => cidOf(randomBytes(40))); // 7, 2 and 3 coprime: 12 distinct refs
    const refs = Array.from({ length: 12 }, (_, i) => ({
      twinId: i % 3 === 0 ? "0x" + "0d".repeat(32) : TWIN,
      recordCid: cids[i % cids.length],
      reader: readers[i % 2].address,
    }));
    const wrapFor = (i: number) => wrapDataKey(randomBytes(32), publicKeyOf(readers[i % 2]));
    await keys.putMany(refs.map((ref, i) => ({ ...ref, wrappedKey: wrapFor(i) })));
    const packs = (await filesUnder(keys.root)).filter((name) => name !== ".store-key");
    expect(packs).to.have.length(2);
    for (const name of packs) expect(name).to.match(/^[0-9a-f]{32}\.wkpack$/);
    // put over every ref: one key file each, which wins over the pack
    const again = refs.map((_, i) => wrapFor(i));
    for (const [i, ref] of refs.entries()) await keys.put({ ...ref, wrappedKey: again[i] });
    expect((await filesUnder(keys.root)).filter((name) => name.endsWith(".wkey"))).to.have.length(12);
    for (const [i, ref] of refs.entries()) expect(hexlify(await keys.get(ref))).to.equal(hexlify(again[i]));
    expect(await keys.countKeys(TWIN)).to.equal(8);
    // a later batch wins over both and deletes the key files it replaces
    const third = refs.map((_, i) => wrapFor(i));
    await keys.putMany(refs.map((ref, i) => ({ ...ref, wrappedKey: third[i] })));
    expect((await filesUnder(keys.root)).filter((name) => name.endsWith(".wkey"))).to.deep.equal([]);
    for (const reopened of [keys, new FolderKeyStore(join(root, "keys"), { fsync: false })]) {
      for (const [i, ref] of refs.entries()) expect(hexlify(await reopened.get(ref))).to.equal(hexlify(third[i]));
      expect(await reopened.countKeys(TWIN)).to.equal(8);
      expect(await reopened.countKeys("0x" + "0d".repeat(32))).to.equal(4);
    }
  });

  it("falls back to put on stores without putMany (memory stores)", async () => {
    const vault = new RecordVault(new MemoryBlobStore(), new MemoryKeyStore());
    const batch = records(3, [hospital]);
    const stored = await vault.putMany(batch);
    expect(new TextDecoder().decode(await vault.read(stored[2].cid, batch[2].context, hospital))).to.contain("o-2");
  });

  it("refuses an erased twin before storing anything", async () => {
    const blobs = new LocalFolderBlobStore(join(root, "blobs"), { fsync: false });
    const keys = new FolderKeyStore(join(root, "keys"), { fsync: false });
    await keys.destroyAllForTwin(TWIN);
    await expectRejectCode(new RecordVault(blobs, keys).putMany(records(2, [hospital])), "TWIN_ERASED");
    expect(
      await filesUnder(root).then((names) => names.filter((n) => n !== ".store-key" && n !== "ERASED.json")),
    ).to.deep.equal([]);
  });

  it("removes what it stored when the key batch fails", async () => {
    const blobs = new LocalFolderBlobStore(join(root, "blobs"), { fsync: false });
    class FailingKeys extends FolderKeyStore {
      override putMany(): Promise<void> {
        return Promise.reject(new Error("disk full"));
      }
    }
    const failing = new FailingKeys(join(root, "keys"), { fsync: false });
    await expect(new RecordVault(blobs, failing).putMany(records(5, [hospital]))).to.be.rejectedWith("disk full");
    expect(await filesUnder(blobs.root)).to.deep.equal([]);
  });

  it("writeFilesAtomic: a failed write leaves neither the file nor its temporary", async () => {
    const dir = join(root, "files");
    const ok = { path: join(dir, "a"), bytes: Uint8Array.of(1) };
    const bad = { path: join(dir, "b"), bytes: null as unknown as Uint8Array };
    await expect(writeFilesAtomic([ok, bad], { mode: 0o600, fsync: false })).to.be.rejected;
    expect(await readdir(dir)).to.deep.equal([]);
  });
});
