import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hexlify, Wallet } from "ethers";
import { publicKeyOf, wrapDataKey } from "../../../src/crypto";
import { cidOf, FolderKeyStore, LocalFolderBlobStore, type WrappedKeyEntry } from "../../../src/store";
import { decodeKeyPack, encodeKeyPack } from "../../../src/store/key-pack";
import { expectRejectCode, sameBytes } from "../crypto/expect-error";

const TWIN = "0x" + "ab".repeat(32);
const OTHER_TWIN = "0x" + "cd".repeat(32);
const hospital = new Wallet(hexlify(randomBytes(32)));
const patient = new Wallet(hexlify(randomBytes(32)));

/** Every file under a folder, recursively, as paths. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

/** Whether any file under the folder contains the bytes. */
async function onDisk(dir: string, bytes: Uint8Array): Promise<boolean> {
  for (const path of await filesUnder(dir)) if ((await readFile(path)).includes(Buffer.from(bytes))) return true;
  return false;
}

describe("store: pack files", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "twinledger-packs-"));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  describe("LocalFolderBlobStore packs", () => {
    const blobs = (count: number, tag = "") =>
      Array.from({ length: count }, (_, i) => new TextEncoder().encode(`sealed envelope ${tag}${i} `.repeat(8)));
    const packsOf = async (dir: string) => (await readdir(join(dir, "packs"))).filter((n) => !n.startsWith("."));

    it("writes a batch as one pack (0600, a random name) that a fresh instance reads", async () => {
      const store = new LocalFolderBlobStore(root, { fsync: true });
      const batch = blobs(50);
      const cids = await store.putMany(batch);
      expect(await readdir(root)).to.deep.equal(["packs"]);
      const [pack] = await packsOf(root);
      expect(await packsOf(root)).to.have.length(1);
      expect(pack).to.match(/^[0-9a-f]{32}\.pack$/);
      if (process.platform !== "win32") expect((await stat(join(root, "packs", pack))).mode & 0o777).to.equal(0o600);
      const reopened = new LocalFolderBlobStore(root);
      for (const [i, cid] of cids.entries()) {
        expect(await reopened.has(cid)).to.equal(true);
        expect(sameBytes(await reopened.get(cid), batch[i])).to.equal(true);
      }
      // the same blobs again: nothing new is written
      await store.putMany(batch);
      expect(await packsOf(root)).to.have.length(1);
    });

    it("reads both layouts, and deletes from either", async () => {
      const store = new LocalFolderBlobStore(root, { fsync: false });
      const single = await store.put(new TextEncoder().encode("one file"));
      const packed = await store.putMany(blobs(3));
      const reopened = new LocalFolderBlobStore(root, { fsync: false });
      for (const cid of [single, ...packed]) expect(await reopened.has(cid)).to.equal(true);
      expect(await reopened.delete(single)).to.equal(true);
      expect(await reopened.delete(packed[1])).to.equal(true);
      expect(await reopened.delete(packed[1])).to.equal(false);
      for (const store of [reopened, new LocalFolderBlobStore(root)]) {
        expect(await store.has(single)).to.equal(false);
        expect(await store.has(packed[1])).to.equal(false);
        await expectRejectCode(store.get(packed[1]), "BLOB_NOT_FOUND");
        expect(new TextDecoder().decode(await store.get(packed[2]))).to.contain("envelope 2");
      }
    });

    it("delete removes the blob's bytes from disk, and the last one removes the pack", async () => {
      const store = new LocalFolderBlobStore(root, { fsync: false });
      const batch = blobs(4);
      const cids = await store.putMany(batch);
      const inode = async () => (await stat(join(root, "packs", (await packsOf(root))[0]))).ino;
      const before = await inode();
      await store.delete(cids[0]);
      expect(await inode()).to.equal(before); // zeroed in place and renamed, not copied: a delete costs one blob
      expect(await onDisk(root, batch[0])).to.equal(false);
      expect(await onDisk(root, batch[3])).to.equal(true);
      for (const cid of cids.slice(1)) await store.delete(cid);
      expect(await filesUnder(root)).to.deep.equal([]);
    });

    it("a damaged pack index is STORE_IO (not BLOB_NOT_FOUND); damaged blob bytes are BLOB_TAMPERED", async () => {
      const cids = await new LocalFolderBlobStore(root, { fsync: false }).putMany(blobs(3));
      const [pack] = await packsOf(root);
      const path = join(root, "packs", pack);
      const original = await readFile(path);
      for (const [at, value] of [
        [16 + 30, 0x21], // a content id in the index ("!" is no base32 digit)
        [16 + 59 + 7, 0x01], // the first blob's offset
        [16 + 59 + 8 + 3, 0x02], // the first blob's length
      ]) {
        const damaged = Buffer.from(original);
        damaged[at] = value;
        await writeFile(path, damaged);
        await expectRejectCode(new LocalFolderBlobStore(root).get(cids[1]), "STORE_IO");
        await expectRejectCode(new LocalFolderBlobStore(root).has(cids[1]), "STORE_IO");
      }
      const tampered = Buffer.from(original);
      tampered[tampered.length - 1] ^= 1; // the last blob's last byte
      await writeFile(path, tampered);
      const store = new LocalFolderBlobStore(root);
      expect(new TextDecoder().decode(await store.get(cids[0]))).to.contain("envelope 0");
      await expectRejectCode(store.get(cids[2]), "BLOB_TAMPERED");
    });

    it("a truncated pack is STORE_IO when opened, BLOB_TAMPERED for an index read before", async () => {
      const cids = await new LocalFolderBlobStore(root, { fsync: false }).putMany(blobs(3));
      const [pack] = await packsOf(root);
      const loaded = new LocalFolderBlobStore(root);
      expect(await loaded.has(cids[2])).to.equal(true);
      await truncate(join(root, "packs", pack), (await stat(join(root, "packs", pack))).size - 10);
      await expectRejectCode(new LocalFolderBlobStore(root).get(cids[2]), "STORE_IO");
      await expectRejectCode(loaded.get(cids[2]), "BLOB_TAMPERED");
    });

    it("two instances on one folder see each other's packs and deletions", async () => {
      const first = new LocalFolderBlobStore(root, { fsync: false });
      const second = new LocalFolderBlobStore(root, { fsync: false });
      const early = await first.putMany(blobs(2, "early"));
      expect(await second.has(early[0])).to.equal(true); // second has now loaded the pack folder
      const late = await first.putMany(blobs(2, "late"));
      expect(new TextDecoder().decode(await second.get(late[1]))).to.contain("late1");
      expect(await second.has(late[0])).to.equal(true);
      await first.delete(late[0]);
      expect(await second.has(late[0])).to.equal(false);
      await expectRejectCode(second.get(late[0]), "BLOB_NOT_FOUND");
      expect(new TextDecoder().decode(await second.get(late[1]))).to.contain("late1");
      // both delete different blobs of one pack at once: both are gone, the rest stays
      const shared = await first.putMany(blobs(4, "shared"));
      expect(await second.has(shared[0])).to.equal(true);
      await Promise.all([first.delete(shared[0]), second.delete(shared[1])]);
      const fresh = new LocalFolderBlobStore(root);
      expect([await fresh.has(shared[0]), await fresh.has(shared[1])]).to.deep.equal([false, false]);
      expect([await fresh.has(shared[2]), await fresh.has(shared[3])]).to.deep.equal([true, true]);
    });
  });

  describe("FolderKeyStore packs", () => {
    const cids = Array.from({ length: 30 }, (_, i) => cidOf(new TextEncoder().encode(`envelope ${i}`)));
    const entries = (twinId: string): WrappedKeyEntry[] =>
      cids.flatMap((recordCid) =>
        [hospital, patient].map((wallet) => ({
          twinId,
          recordCid,
          reader: wallet.address,
          wrappedKey: wrapDataKey(randomBytes(32), publicKeyOf(wallet)),
        })),
      );
    const packFiles = async () => (await filesUnder(root)).filter((path) => path.endsWith(".wkpack"));

    it("writes one pack per twin; a fresh instance answers every query from it", async () => {
      const batch = [...entries(TWIN), ...entries(OTHER_TWIN)];
      await new FolderKeyStore(root, { fsync: true }).putMany(batch);
      expect(await packFiles()).to.have.length(2);
      expect((await filesUnder(root)).filter((path) => path.endsWith(".wkey"))).to.deep.equal([]);
      const keys = new FolderKeyStore(root);
      for (const entry of batch) {
        expect(sameBytes(await keys.get(entry), entry.wrappedKey)).to.equal(true);
        expect(await keys.has(entry)).to.equal(true);
      }
      expect(await keys.countKeys(TWIN)).to.equal(60);
      expect(await keys.records(TWIN)).to.deep.equal([...cids].sort());
      expect(await keys.readers(TWIN, cids[3])).to.deep.equal([hospital.address, patient.address].sort());
    });

    it("a revocation destroys the key: its bytes are no longer in any file", async () => {
      const batch = entries(TWIN);
      const keys = new FolderKeyStore(root, { fsync: false });
      await keys.putMany(batch);
      const revoked = batch[5];
      expect(await onDisk(root, revoked.wrappedKey)).to.equal(true);
      const before = (await stat((await packFiles())[0])).ino;
      expect(await keys.remove(revoked)).to.equal(true);
      expect((await stat((await packFiles())[0])).ino).to.equal(before); // zeroed in place, renamed
      expect(await onDisk(root, revoked.wrappedKey)).to.equal(false);
      expect(await onDisk(root, batch[4].wrappedKey)).to.equal(true);
      expect(await keys.remove(revoked)).to.equal(false);
      for (const store of [keys, new FolderKeyStore(root)]) {
        expect(await store.has(revoked)).to.equal(false);
        await expectRejectCode(store.get(revoked), "KEY_NOT_FOUND");
        expect(await store.countKeys(TWIN)).to.equal(59);
      }
      // revoking every key of the pack deletes it
      for (const entry of batch) await keys.remove(entry);
      expect(await packFiles()).to.deep.equal([]);
    });

    it("a revocation by another instance is seen at once by one that loaded the twin", async () => {
      const batch = entries(TWIN);
      const first = new FolderKeyStore(root, { fsync: false });
      const second = new FolderKeyStore(root, { fsync: false });
      await first.putMany(batch.slice(0, 10));
      expect(await second.countKeys(TWIN)).to.equal(10); // loaded
      await first.putMany(batch.slice(10));
      expect(sameBytes(await second.get(batch[30]), batch[30].wrappedKey)).to.equal(true);
      await first.remove(batch[2]);
      expect(await second.has(batch[2])).to.equal(false);
      await expectRejectCode(second.get(batch[2]), "KEY_NOT_FOUND");
      await Promise.all([first.remove(batch[3]), second.remove(batch[4])]);
      expect(await new FolderKeyStore(root).countKeys(TWIN)).to.equal(57);
    });

    it("erasure deletes the packs, counts their keys once, and is idempotent", async () => {
      const keys = new FolderKeyStore(root, { fsync: false });
      await keys.putMany(entries(TWIN));
      await keys.put(entries(TWIN)[0]); // the same ref as a key file too: one key
      await keys.putMany(entries(OTHER_TWIN));
      const receipt = await keys.destroyAllForTwin(TWIN);
      expect(receipt.destroyedKeys).to.equal(60);
      expect((await keys.destroyAllForTwin(TWIN)).destroyedKeys).to.equal(0);
      expect(await packFiles()).to.have.length(1); // the other twin's
      await expectRejectCode(keys.get(entries(TWIN)[1]), "TWIN_ERASED");
      await expectRejectCode(keys.putMany(entries(TWIN)), "TWIN_ERASED");
      expect(await new FolderKeyStore(root).countKeys(OTHER_TWIN)).to.equal(60);
    });

    it("lets no packed key survive an erasure racing batches", async () => {
      const keys = new FolderKeyStore(root, { fsync: false });
      const other = new FolderKeyStore(root, { fsync: false });
      await keys.putMany(entries(TWIN).slice(0, 2));
      const batches = Array.from({ length: 10 }, () =>
        other.putMany(entries(TWIN)).then(
          () => "stored",
          (error: { code?: string }) => error.code,
        ),
      );
      const erasure = keys.destroyAllForTwin(TWIN);
      const outcomes = await Promise.all(batches);
      await erasure;
      expect(outcomes.filter((outcome) => !["stored", "TWIN_ERASED", "STORE_IO"].includes(outcome!))).to.deep.equal([]);
      expect(await packFiles()).to.deep.equal([]);
      expect(await other.countKeys(TWIN)).to.equal(0);
    });

    it("a damaged key pack is STORE_IO, and erasure still deletes it", async () => {
      await new FolderKeyStore(root, { fsync: false }).putMany(entries(TWIN));
      const [path] = await packFiles();
      const bytes = await readFile(path);
      bytes[20 + 21 + 10] = 0x21; // inside the first entry's content id
      await writeFile(path, bytes);
      const keys = new FolderKeyStore(root);
      await expectRejectCode(keys.get(entries(TWIN)[0]), "STORE_IO");
      await expectRejectCode(keys.countKeys(TWIN), "STORE_IO");
      await truncate(path, 40);
      await expectRejectCode(new FolderKeyStore(root).has(entries(TWIN)[0]), "STORE_IO");
      await keys.destroyAllForTwin(TWIN);
      expect(await packFiles()).to.deep.equal([]);
    });

    it("names nothing of twin, record or reader in pack paths", async () => {
      await new FolderKeyStore(root, { fsync: false }).putMany([...entries(TWIN), ...entries(OTHER_TWIN)]);
      const secrets = [TWIN, OTHER_TWIN, ...cids, hospital.address, patient.address].flatMap((value) => [
        value.slice(2).toLowerCase(),
        value.toLowerCase(),
      ]);
      for (const path of await filesUnder(root)) {
        const relative = path.slice(root.length);
        for (const secret of secrets) expect(relative.toLowerCase()).to.not.include(secret);
        expect(relative).to.match(/^(\/\.store-key|\/[0-9a-f]{32}\/packs\/[0-9a-f]{32}\.wkpack)$/);
      }
    });

    it("keeps answering when the cache holds fewer keys than one twin has", async () => {
      const keys = new FolderKeyStore(root, { fsync: false, cachedKeys: 10 });
      const batch = [...entries(TWIN), ...entries(OTHER_TWIN)];
      await keys.putMany(batch);
      for (const entry of batch.slice(0, 8)) expect(sameBytes(await keys.get(entry), entry.wrappedKey)).to.equal(true);
      await keys.remove(batch[0]);
      expect(await keys.countKeys(TWIN)).to.equal(59);
    });

    it("stores the wrapped key's length: 87- and 103-byte keys round-trip through the pack codec", () => {
      const reader = hospital.address;
      const packed = [
        { recordCid: cids[0], reader, wrappedKey: randomBytes(87) },
        { recordCid: cids[1], reader, wrappedKey: randomBytes(103) },
      ];
      const decoded = decodeKeyPack(encodeKeyPack(1234, packed).bytes);
      expect(decoded.writtenAt).to.equal(1234);
      expect(decoded.entries.map((e) => [e.recordCid, e.reader, hexlify(e.wrappedKey)])).to.deep.equal(
        packed.map((e) => [e.recordCid, e.reader, hexlify(e.wrappedKey)]),
      );
    });
  });
});
