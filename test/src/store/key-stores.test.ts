import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hexlify, Wallet } from "ethers";
import { publicKeyOf, wrapDataKey } from "../../../src/crypto";
import { cidOf, FolderKeyStore, MemoryKeyStore, type KeyStore } from "../../../src/store";
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

    it("persists keys and erasures across instances", async () => {
      const wrapped = wrappedFor(patient);
      const ref = { twinId: TWIN, recordCid: RECORD_1, reader: patient.address };
      await new FolderKeyStore(root).put({ ...ref, wrappedKey: wrapped });
      expect(sameBytes(await new FolderKeyStore(root).get(ref), wrapped)).to.equal(true);
      await new FolderKeyStore(root).destroyAllForTwin(TWIN);
      await expectRejectCode(new FolderKeyStore(root).get(ref), "TWIN_ERASED");
    });

    it("writes key files readable by the owner only, at the documented path", async () => {
      const keys = new FolderKeyStore(root);
      await keys.put({ twinId: TWIN, recordCid: RECORD_1, reader: patient.address, wrappedKey: wrappedFor(patient) });
      const path = join(root, TWIN.slice(2), "records", RECORD_1, patient.address.toLowerCase() + ".wkey");
      const info = await stat(path);
      expect(info.size).to.equal(87);
      if (process.platform !== "win32") expect(info.mode & 0o777).to.equal(0o600);
    });

    it("finishes an interrupted erasure: the record alone already blocks reads", async () => {
      const keys = new FolderKeyStore(root, { fsync: false });
      const ref = { twinId: TWIN, recordCid: RECORD_1, reader: patient.address };
      await keys.put({ ...ref, wrappedKey: wrappedFor(patient) });
      // a crash right after the erasure record was written, before any key was deleted
      await writeFile(
        join(root, TWIN.slice(2), "ERASED.json"),
        JSON.stringify({ twinId: TWIN, erasedAt: "2025-01-01T00:00:00.000Z" }),
      );
      await expectRejectCode(keys.get(ref), "TWIN_ERASED");
      const receipt = await keys.destroyAllForTwin(TWIN);
      expect(receipt).to.deep.equal({ twinId: TWIN, erasedAt: "2025-01-01T00:00:00.000Z", destroyedKeys: 1 });
      expect(await readdir(join(root, TWIN.slice(2)))).to.deep.equal(["ERASED.json"]);
    });
  });
});
