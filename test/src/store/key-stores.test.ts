import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hexlify, Wallet } from "ethers";
import { publicKeyOf, wrapDataKey } from "../../../src/crypto";
import { cidOf, FolderKeyStore, MemoryKeyStore, type KeyStore, type WrappedKeyEntry } from "../../../src/store";
import { expectRejectCode, sameBytes } from "../crypto/expect-error";

const TWIN = "0x" + "ab".repeat(32);
const OTHER_TWIN = "0x" + "cd".repeat(32);
const RECORD_1 = cidOf(new TextEncoder().encode("envelope 1"));
const RECORD_2 = cidOf(new TextEncoder().encode("envelope 2"));
const hospital = new Wallet(hexlify(randomBytes(32)));
const patient = new Wallet(hexlify(randomBytes(32)));
const wrappedFor = (wallet: Wallet) => wrapDataKey(randomBytes(32), publicKeyOf(wallet));

/** Behaviour every KeyStore shares. */
function shouldBehaveLikeKeyStore(make: () => Promise<KeyStore>): void {
  let keys: KeyStore;
  beforeEach(async () => {
    keys = await make();
  });

  it("stores a wrapped key per record and reader", async () => {
    const forHospital = wrappedFor(hospital);
    const forPatient = wrappedFor(patient);
    await keys.put({ twinId: TWIN, recordCid: RECORD_1, reader: hospital.address, wrappedKey: forHospital });
    await keys.put({ twinId: TWIN, recordCid: RECORD_1, reader: patient.address, wrappedKey: forPatient });
    await keys.put({ twinId: TWIN, recordCid: RECORD_2, reader: patient.address, wrappedKey: forPatient });

    const got = await keys.get({ twinId: TWIN, recordCid: RECORD_1, reader: hospital.address });
    expect(sameBytes(got, forHospital)).to.equal(true);
    expect(await keys.readers(TWIN, RECORD_1)).to.deep.equal([hospital.address, patient.address].sort());
    expect(await keys.records(TWIN)).to.deep.equal([RECORD_1, RECORD_2].sort());
    expect(await keys.countKeys(TWIN)).to.equal(3);
    expect(await keys.has({ twinId: TWIN, recordCid: RECORD_2, reader: hospital.address })).to.equal(false);
  });

  it("treats twin ids and addresses case-insensitively", async () => {
    const wrapped = wrappedFor(patient);
    await keys.put({
      twinId: TWIN.toUpperCase().replace("0X", "0x"),
      recordCid: RECORD_1,
      reader: patient.address.toLowerCase(),
      wrappedKey: wrapped,
    });
    expect(sameBytes(await keys.get({ twinId: TWIN, recordCid: RECORD_1, reader: patient.address }), wrapped)).to.equal(
      true,
    );
  });

  it("replaces a reader's key on a second put", async () => {
    const ref = { twinId: TWIN, recordCid: RECORD_1, reader: patient.address };
    await keys.put({ ...ref, wrappedKey: wrappedFor(patient) });
    const newer = wrappedFor(patient);
    await keys.put({ ...ref, wrappedKey: newer });
    expect(sameBytes(await keys.get(ref), newer)).to.equal(true);
    expect(await keys.countKeys(TWIN)).to.equal(1);
  });

  it("reports a missing key with KEY_NOT_FOUND", async () => {
    await expectRejectCode(keys.get({ twinId: TWIN, recordCid: RECORD_1, reader: patient.address }), "KEY_NOT_FOUND");
  });

  it("removes one reader's key", async () => {
    const ref = { twinId: TWIN, recordCid: RECORD_1, reader: patient.address };
    await keys.put({ ...ref, wrappedKey: wrappedFor(patient) });
    expect(await keys.remove(ref)).to.equal(true);
    expect(await keys.remove(ref)).to.equal(false);
    await expectRejectCode(keys.get(ref), "KEY_NOT_FOUND");
    expect(await keys.records(TWIN)).to.deep.equal([]);
  });

  it("validates its inputs with typed errors", async () => {
    const wrappedKey = wrappedFor(patient);
    const ok = { twinId: TWIN, recordCid: RECORD_1, reader: patient.address, wrappedKey };
    await expectRejectCode(keys.put({ ...ok, twinId: "twin-1" }), "TWIN_ID_INVALID");
    await expectRejectCode(keys.put({ ...ok, reader: "0x1234" }), "ADDRESS_INVALID");
    await expectRejectCode(keys.put({ ...ok, recordCid: "not-a-cid" }), "CID_INVALID");
    await expectRejectCode(keys.put({ ...ok, wrappedKey: wrappedKey.subarray(1) }), "CRYPTO_FORMAT");
    await expectRejectCode(keys.get({ ...ok, recordCid: "../../x" }), "CID_INVALID");
    await expectRejectCode(keys.records("0x12"), "TWIN_ID_INVALID");
  });

  describe("erasure", () => {
    beforeEach(async () => {
      for (const record of [RECORD_1, RECORD_2]) {
        for (const wallet of [hospital, patient]) {
          await keys.put({ twinId: TWIN, recordCid: record, reader: wallet.address, wrappedKey: wrappedFor(wallet) });
        }
      }
      await keys.put({
        twinId: OTHER_TWIN,
        recordCid: RECORD_1,
        reader: patient.address,
        wrappedKey: wrappedFor(patient),
      });
    });

    it("destroys every wrapped key of the twin and says so", async () => {
      expect(await keys.erasure(TWIN)).to.equal(undefined);
      const receipt = await keys.destroyAllForTwin(TWIN);
      expect(receipt.twinId).to.equal(TWIN);
      expect(receipt.destroyedKeys).to.equal(4);
      expect(Date.parse(receipt.erasedAt)).to.be.closeTo(Date.now(), 60_000);
      expect(await keys.erasure(TWIN)).to.deep.equal({ twinId: TWIN, erasedAt: receipt.erasedAt });
      expect(await keys.countKeys(TWIN)).to.equal(0);
      expect(await keys.records(TWIN)).to.deep.equal([]);
    });

    it("makes reads fail with TWIN_ERASED and refuses new keys", async () => {
      await keys.destroyAllForTwin(TWIN);
      const ref = { twinId: TWIN, recordCid: RECORD_1, reader: patient.address };
      const error = await expectRejectCode(keys.get(ref), "TWIN_ERASED");
      expect(error.message).to.include(TWIN).and.to.include("erased");
      await expectRejectCode(keys.get({ ...ref, recordCid: cidOf(new Uint8Array(1)) }), "TWIN_ERASED");
      expect(await keys.has(ref)).to.equal(false);
      await expectRejectCode(keys.put({ ...ref, wrappedKey: wrappedFor(patient) }), "TWIN_ERASED");
      expect(await keys.countKeys(TWIN)).to.equal(0);
    });

    it("leaves other twins alone", async () => {
      await keys.destroyAllForTwin(TWIN);
      expect(await keys.erasure(OTHER_TWIN)).to.equal(undefined);
      expect(await keys.countKeys(OTHER_TWIN)).to.equal(1);
      await keys.get({ twinId: OTHER_TWIN, recordCid: RECORD_1, reader: patient.address });
    });

    it("is idempotent and keeps the first erasure time", async () => {
      const first = await keys.destroyAllForTwin(TWIN);
      const second = await keys.destroyAllForTwin(TWIN.toUpperCase().replace("0X", "0x"));
      expect(second).to.deep.equal({ ...first, destroyedKeys: 0 });
    });
  });
}

describe("store/key-stores", () => {
  describe("MemoryKeyStore", () => {
    shouldBehaveLikeKeyStore(async () => new MemoryKeyStore());
  });

  describe("FolderKeyStore", () => {
    let root: string;
    beforeEach(async () => {
      root = await mkdtemp(join(tmpdir(), "twinledger-keys-"));
    });
    afterEach(async () => {
      await rm(root, { recursive: true, force: true });
    });

    shouldBehaveLikeKeyStore(async () => new FolderKeyStore(root, { fsync: false }));

    describe("every key through putMany (one pack each)", () => {
      /** The same store, its `put` writing a pack of one key: the contract holds for packed keys. */
      class PackingKeyStore extends FolderKeyStore {
        override put(entry: WrappedKeyEntry): Promise<void> {
          return this.putMany([entry]);
        }
      }
      shouldBehaveLikeKeyStore(async () => new PackingKeyStore(root, { fsync: false }));
    });

    it("persists keys and erasures across instances", async () => {
      const wrapped = wrappedFor(patient);
      const ref = { twinId: TWIN, recordCid: RECORD_1, reader: patient.address };
      await new FolderKeyStore(root).put({ ...ref, wrappedKey: wrapped });
      expect(sameBytes(await new FolderKeyStore(root).get(ref), wrapped)).to.equal(true);
      await new FolderKeyStore(root).destroyAllForTwin(TWIN);
      await expectRejectCode(new FolderKeyStore(root).get(ref), "TWIN_ERASED");
    });

    /** Every name under a folder, relative, folders and files. */
    async function namesUnder(dir: string): Promise<string[]> {
      const names: string[] = [];
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        names.push(entry.name);
        if (entry.isDirectory()) names.push(...(await namesUnder(join(dir, entry.name))));
      }
      return names;
    }

    /** The layout written before opaque names: `<twin id>/records/<cid>/<reader lowercase>.wkey`, raw wrapped key. */
    async function writeLegacyKey(twinId: string, recordCid: string, reader: string, wrapped: Uint8Array) {
      const dir = join(root, twinId.slice(2), "records", recordCid);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeFile(join(dir, reader.toLowerCase() + ".wkey"), wrapped, { mode: 0o600 });
    }

    it("writes key files readable by the owner only, in folders only the owner can list", async () => {
      const keys = new FolderKeyStore(root);
      await keys.put({ twinId: TWIN, recordCid: RECORD_1, reader: patient.address, wrappedKey: wrappedFor(patient) });
      const secret = await stat(join(root, ".store-key"));
      expect(secret.size).to.equal(32);
      const twinDirs = (await readdir(root)).filter((name) => !name.startsWith("."));
      expect(twinDirs).to.have.length(1);
      const [recordDir] = await readdir(join(root, twinDirs[0]));
      const [keyFile] = await readdir(join(root, twinDirs[0], recordDir));
      expect(keyFile).to.match(/^[0-9a-f]{32}\.wkey$/);
      if (process.platform !== "win32") {
        expect(secret.mode & 0o777).to.equal(0o600);
        expect((await stat(join(root, twinDirs[0]))).mode & 0o777).to.equal(0o700);
        expect((await stat(join(root, twinDirs[0], recordDir))).mode & 0o777).to.equal(0o700);
        expect((await stat(join(root, twinDirs[0], recordDir, keyFile))).mode & 0o777).to.equal(0o600);
      }
    });

    it("names no twin id, content id or reader address on disk", async () => {
      const keys = new FolderKeyStore(root, { fsync: false });
      for (const twinId of [TWIN, OTHER_TWIN]) {
        for (const recordCid of [RECORD_1, RECORD_2]) {
          for (const wallet of [hospital, patient]) {
            await keys.put({ twinId, recordCid, reader: wallet.address, wrappedKey: wrappedFor(wallet) });
          }
        }
      }
      await keys.destroyAllForTwin(OTHER_TWIN);
      const secrets = [TWIN, OTHER_TWIN, RECORD_1, RECORD_2, hospital.address, patient.address].flatMap((value) => [
        value.slice(2).toLowerCase(),
        value.slice(2),
        value.toLowerCase(),
        value,
      ]);
      const names = await namesUnder(root);
      expect(names.length).to.be.greaterThan(8);
      for (const name of names) for (const secret of secrets) expect(name).to.not.include(secret);
      // and the erasure record names only a time
      const erasedFiles = [];
      for (const twinDir of await readdir(root)) {
        if ((await readdir(join(root, twinDir)).catch((): string[] => [])).includes("ERASED.json"))
          erasedFiles.push(twinDir);
      }
      expect(erasedFiles).to.have.length(1);
      const record = JSON.parse(await readFile(join(root, erasedFiles[0], "ERASED.json"), "utf8"));
      expect(Object.keys(record)).to.deep.equal(["erasedAt"]);
      // a second instance (a restart) finds everything under the same secret
      const again = new FolderKeyStore(root);
      expect(await again.countKeys(TWIN)).to.equal(4);
      expect(await again.readers(TWIN, RECORD_2)).to.deep.equal([hospital.address, patient.address].sort());
      expect(await again.records(TWIN)).to.deep.equal([RECORD_1, RECORD_2].sort());
      expect((await again.erasure(OTHER_TWIN))?.erasedAt).to.be.a("string");
    });

    it("keeps the store secret and refuses to replace it once keys exist", async () => {
      const keys = new FolderKeyStore(root, { fsync: false });
      await keys.put({ twinId: TWIN, recordCid: RECORD_1, reader: patient.address, wrappedKey: wrappedFor(patient) });
      const secret = await readFile(join(root, ".store-key"));
      await new FolderKeyStore(root).get({ twinId: TWIN, recordCid: RECORD_1, reader: patient.address });
      expect(sameBytes(await readFile(join(root, ".store-key")), secret)).to.equal(true);
      await rm(join(root, ".store-key"));
      await expectRejectCode(
        new FolderKeyStore(root).get({ twinId: TWIN, recordCid: RECORD_1, reader: patient.address }),
        "STORE_IO",
      );
    });

    it("agrees on one secret when several instances start at once", async () => {
      const stores = Array.from({ length: 4 }, () => new FolderKeyStore(root, { fsync: false }));
      const wrapped = wrappedFor(patient);
      const ref = { twinId: TWIN, recordCid: RECORD_1, reader: patient.address };
      await Promise.all(stores.map((keys) => keys.has(ref)));
      await stores[0].put({ ...ref, wrappedKey: wrapped });
      for (const keys of stores) expect(sameBytes(await keys.get(ref), wrapped)).to.equal(true);
      expect((await readdir(root)).filter((name) => name.startsWith(".store-key"))).to.deep.equal([".store-key"]);
    });

    it("migrates clear-named folders written before, losing nothing", async () => {
      const legacy = new Map<string, Uint8Array>();
      for (const twinId of [TWIN, OTHER_TWIN]) {
        for (const recordCid of [RECORD_1, RECORD_2]) {
          for (const wallet of [hospital, patient]) {
            const wrapped = wrappedFor(wallet);
            legacy.set(`${twinId} ${recordCid} ${wallet.address}`, wrapped);
            await writeLegacyKey(twinId, recordCid, wallet.address, wrapped);
          }
        }
      }
      const keys = new FolderKeyStore(root, { fsync: false });
      // first access of one twin migrates that twin
      expect(await keys.countKeys(TWIN)).to.equal(4);
      expect(await readdir(root)).to.not.include(TWIN.slice(2));
      expect(await readdir(root)).to.include(OTHER_TWIN.slice(2));
      // the rest at once
      expect(await keys.migrateLegacyLayout()).to.equal(1);
      for (const [where, wrapped] of legacy) {
        const [twinId, recordCid, reader] = where.split(" ");
        expect(sameBytes(await keys.get({ twinId, recordCid, reader }), wrapped)).to.equal(true);
      }
      expect(await keys.records(OTHER_TWIN)).to.deep.equal([RECORD_1, RECORD_2].sort());
      expect(await keys.readers(OTHER_TWIN, RECORD_1)).to.deep.equal([hospital.address, patient.address].sort());
      const secrets = [TWIN, OTHER_TWIN, RECORD_1, RECORD_2, hospital.address, patient.address].map((value) =>
        value.slice(2).toLowerCase(),
      );
      for (const name of await namesUnder(root))
        for (const secret of secrets) expect(name.toLowerCase()).to.not.include(secret);
      // a fresh instance on the migrated folder sees the same
      expect(await new FolderKeyStore(root).countKeys(OTHER_TWIN)).to.equal(4);
    });

    it("migrates a clear-named twin on its first access, whatever the call", async () => {
      const wrapped = wrappedFor(patient);
      await writeLegacyKey(TWIN, RECORD_1, patient.address, wrapped);
      const ref = { twinId: TWIN, recordCid: RECORD_1, reader: patient.address };
      expect(await new FolderKeyStore(root, { fsync: false }).has(ref)).to.equal(true);
      await writeLegacyKey(TWIN, RECORD_2, patient.address, wrapped); // e.g. a half-finished earlier migration
      const keys = new FolderKeyStore(root, { fsync: false });
      expect(await keys.remove({ ...ref, recordCid: RECORD_2 })).to.equal(true);
      expect(await keys.records(TWIN)).to.deep.equal([RECORD_1]);
      expect(await readdir(root)).to.not.include(TWIN.slice(2));
    });

    it("migrates an erasure recorded before, finishing it", async () => {
      await writeLegacyKey(TWIN, RECORD_1, patient.address, wrappedFor(patient));
      await writeLegacyKey(OTHER_TWIN, RECORD_1, patient.address, wrappedFor(patient));
      // a crash right after the erasure record was written, before any key was deleted
      await writeFile(
        join(root, TWIN.slice(2), "ERASED.json"),
        JSON.stringify({ twinId: TWIN, erasedAt: "2025-01-01T00:00:00.000Z" }),
      );
      const keys = new FolderKeyStore(root, { fsync: false });
      const ref = { twinId: TWIN, recordCid: RECORD_1, reader: patient.address };
      await expectRejectCode(keys.get(ref), "TWIN_ERASED");
      expect(await keys.erasure(TWIN)).to.deep.equal({ twinId: TWIN, erasedAt: "2025-01-01T00:00:00.000Z" });
      expect(await keys.countKeys(TWIN)).to.equal(0);
      expect(await readdir(root)).to.not.include(TWIN.slice(2));
      const receipt = await keys.destroyAllForTwin(TWIN);
      expect(receipt).to.deep.equal({ twinId: TWIN, erasedAt: "2025-01-01T00:00:00.000Z", destroyedKeys: 0 });
      expect(await keys.countKeys(OTHER_TWIN)).to.equal(1);
    });

    it("lets no key survive an erasure racing puts", async () => {
      const keys = new FolderKeyStore(root, { fsync: false });
      const other = new FolderKeyStore(root, { fsync: false });
      await keys.put({ twinId: TWIN, recordCid: RECORD_1, reader: patient.address, wrappedKey: wrappedFor(patient) });
      const puts = Array.from({ length: 20 }, (_, i) =>
        other
          .put({
            twinId: TWIN,
            recordCid: cidOf(new Uint8Array([i])),
            reader: hospital.address,
            wrappedKey: wrappedFor(hospital),
          })
          .then(
            () => "stored",
            (error: { code?: string }) => error.code,
          ),
      );
      const erasure = keys.destroyAllForTwin(TWIN);
      const outcomes = await Promise.all(puts);
      await erasure;
      // a put either lands before the erasure lists the twin, or fails (TWIN_ERASED; STORE_IO when its folder went)
      expect(outcomes.filter((outcome) => !["stored", "TWIN_ERASED", "STORE_IO"].includes(outcome!))).to.deep.equal([]);
      expect(await keys.countKeys(TWIN)).to.equal(0);
      expect(await other.countKeys(TWIN)).to.equal(0);
    });

    it("finishes an interrupted erasure: the record alone already blocks reads", async () => {
      const keys = new FolderKeyStore(root, { fsync: false });
      const ref = { twinId: TWIN, recordCid: RECORD_1, reader: patient.address };
      await keys.put({ ...ref, wrappedKey: wrappedFor(patient) });
      const [twinDir] = (await readdir(root)).filter((name) => !name.startsWith("."));
      // a crash right after the erasure record was written, before any key was deleted
      await writeFile(join(root, twinDir, "ERASED.json"), JSON.stringify({ erasedAt: "2025-01-01T00:00:00.000Z" }));
      await expectRejectCode(keys.get(ref), "TWIN_ERASED");
      const receipt = await keys.destroyAllForTwin(TWIN);
      expect(receipt).to.deep.equal({ twinId: TWIN, erasedAt: "2025-01-01T00:00:00.000Z", destroyedKeys: 1 });
      expect(await readdir(join(root, twinDir))).to.deep.equal(["ERASED.json"]);
    });
  });
});
