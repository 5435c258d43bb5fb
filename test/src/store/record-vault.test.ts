import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hexlify, keccak256, Wallet } from "ethers";
import { KeyUnwrapper, parseWrappedKey, publicKeyOf, type RecordContext } from "../../../src/crypto";
import { FolderKeyStore, LocalFolderBlobStore, RecordVault } from "../../../src/store";
import { DataCategory } from "../../../src/vocabulary";
import { expectRejectCode, sameBytes } from "../crypto/expect-error";

const newWallet = () => new Wallet(hexlify(randomBytes(32)));
const TWIN_A = "0x" + "0a".repeat(32);
const TWIN_B = "0x" + "0b".repeat(32);
const CONTEXT: RecordContext = {
  twinId: TWIN_A,
  recordKey: "MedicationStatement/m-1",
  category: DataCategory.MEDICATIONS,
};
const RECORD = new TextEncoder().encode('{"resourceType":"MedicationStatement","medication":"metformin 500 mg"}');

describe("store/record-vault (folder stores)", () => {
  const hospital = newWallet();
  const patient = newWallet();
  const doctor = newWallet();
  let root: string;
  let blobs: LocalFolderBlobStore;
  let keys: FolderKeyStore;
  let vault: RecordVault;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "twinledger-vault-"));
    blobs = new LocalFolderBlobStore(join(root, "blobs"), { fsync: false });
    keys = new FolderKeyStore(join(root, "keys"), { fsync: false });
    vault = new RecordVault(blobs, keys);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("stores a sealed record and opens it for each reader", async () => {
    const stored = await vault.put(RECORD, CONTEXT, [publicKeyOf(hospital), publicKeyOf(patient)]);
    expect(stored.readers).to.deep.equal([hospital.address, patient.address]);
    const envelope = await blobs.get(stored.cid);
    expect(stored.contentHash).to.equal(keccak256(envelope));
    expect(stored.size).to.equal(envelope.length);
    expect(Buffer.from(await readFile(blobs.pathOf(stored.cid))).includes(Buffer.from("metformin"))).to.equal(false);
    for (const reader of [hospital, patient]) {
      expect(sameBytes(await vault.read(stored.cid, CONTEXT, reader), RECORD)).to.equal(true);
    }
    await expectRejectCode(vault.read(stored.cid, CONTEXT, doctor), "KEY_NOT_FOUND");
  });

  it("adds a reader under a grant", async () => {
    const stored = await vault.put(RECORD, CONTEXT, [publicKeyOf(hospital), publicKeyOf(patient)]);
    await vault.addReader(TWIN_A, [stored.cid], hospital, doctor.signingKey.publicKey);
    expect(sameBytes(await vault.read(stored.cid, CONTEXT, doctor), RECORD)).to.equal(true);
  });

  it("putMany seals in bulk: one ephemeral key per twin and reader, and every record opens for each reader", async () => {
    const readers = [publicKeyOf(hospital), publicKeyOf(patient)];
    const contextOf = (twinId: string, i: number): RecordContext => ({ ...CONTEXT, twinId, recordKey: `Obs/${i}` });
    const plaintextOf = (i: number) => new TextEncoder().encode(`{"dose":${i}}`);
    const batch = [0, 1, 2, 3].map((i) => ({
      plaintext: plaintextOf(i),
      context: contextOf(i < 3 ? TWIN_A : TWIN_B, i),
      readers,
    }));
    const stored = await vault.putMany(batch);
    const ephemeral = async (i: number, reader: string) =>
      hexlify(
        parseWrappedKey(await keys.get({ twinId: batch[i].context.twinId, recordCid: stored[i].cid, reader }))
          .ephemeralPublicKey,
      );
    for (const reader of [hospital, patient]) {
      const ephemerals = await Promise.all([0, 1, 2, 3].map((i) => ephemeral(i, reader.address)));
      expect(new Set(ephemerals.slice(0, 3)).size).to.equal(1); // one per twin and reader in a batch
      expect(ephemerals[3]).to.not.equal(ephemerals[0]); // another twin, another ephemeral key
      for (const [i, record] of stored.entries()) {
        expect(record.contentHash).to.equal(keccak256(await blobs.get(record.cid)));
        const opened = await vault.read(record.cid, batch[i].context, reader);
        expect(sameBytes(opened, plaintextOf(i))).to.equal(true);
      }
    }
    expect(await ephemeral(0, hospital.address)).to.not.equal(await ephemeral(0, patient.address));
    // a bulk read as one reader, with one unwrapper for the batch
    const unwrapper = new KeyUnwrapper(patient);
    expect(unwrapper.reader).to.equal(patient.address);
    for (const [i, record] of stored.entries()) {
      expect(sameBytes(await vault.read(record.cid, batch[i].context, unwrapper), plaintextOf(i))).to.equal(true);
    }
    unwrapper.dispose();
    await expectRejectCode(vault.read(stored[0].cid, batch[0].context, new KeyUnwrapper(doctor)), "KEY_NOT_FOUND");
  });

  it("a blob and its key copied to another twin do not decrypt there", async () => {
    const stored = await vault.put(RECORD, CONTEXT, [publicKeyOf(patient)]);
    const wrappedKey = await keys.get({ twinId: TWIN_A, recordCid: stored.cid, reader: patient.address });
    await keys.put({ twinId: TWIN_B, recordCid: stored.cid, reader: patient.address, wrappedKey });
    await expectRejectCode(vault.read(stored.cid, { ...CONTEXT, twinId: TWIN_B }, patient), "CRYPTO_DECRYPT");
  });

  it("refuses a tampered blob", async () => {
    const stored = await vault.put(RECORD, CONTEXT, [publicKeyOf(patient)]);
    const bytes = await readFile(blobs.pathOf(stored.cid));
    bytes[bytes.length - 20] ^= 0x80;
    await writeFile(blobs.pathOf(stored.cid), bytes);
    await expectRejectCode(vault.read(stored.cid, CONTEXT, patient), "BLOB_TAMPERED");
  });

  it("erasure destroys the keys and blobs: reads fail with TWIN_ERASED, checkably", async () => {
    const one = await vault.put(RECORD, CONTEXT, [publicKeyOf(hospital), publicKeyOf(patient)]);
    const two = await vault.put(RECORD, { ...CONTEXT, recordKey: "MedicationStatement/m-2" }, [publicKeyOf(patient)]);
    const other = await vault.put(RECORD, { ...CONTEXT, twinId: TWIN_B }, [publicKeyOf(patient)]);

    const erasure = await vault.erase(TWIN_A);
    expect(erasure).to.include({ twinId: TWIN_A, destroyedKeys: 3, deletedBlobs: 2 });

    for (const cid of [one.cid, two.cid]) {
      const error = await expectRejectCode(vault.read(cid, CONTEXT, patient), "TWIN_ERASED");
      expect(error.message).to.include(TWIN_A);
      expect(await blobs.has(cid)).to.equal(false);
    }
    expect(await keys.erasure(TWIN_A)).to.deep.equal({ twinId: TWIN_A, erasedAt: erasure.erasedAt });
    expect(await keys.countKeys(TWIN_A)).to.equal(0);
    await expectRejectCode(vault.put(RECORD, CONTEXT, [publicKeyOf(patient)]), "TWIN_ERASED");
    // the other twin is untouched
    const otherContext = { ...CONTEXT, twinId: TWIN_B };
    expect(sameBytes(await vault.read(other.cid, otherContext, patient), RECORD)).to.equal(true);
  });
});
