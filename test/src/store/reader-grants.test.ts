import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { hexlify, SigningKey, Wallet } from "ethers";
import {
  encryptEnvelope,
  openRecord,
  parseWrappedKey,
  publicKeyFromSignature,
  publicKeyOf,
  sealRecord,
  type RecordContext,
} from "../../../src/crypto";
import { grantReaderKeys, MemoryBlobStore, MemoryKeyStore, revokeReaderKeys } from "../../../src/store";
import { DataCategory } from "../../../src/vocabulary";
import { expectCode, expectRejectCode, sameBytes } from "../crypto/expect-error";
import { wrapV1 } from "../crypto/legacy-wrap";

const newWallet = () => new Wallet(hexlify(randomBytes(32)));
const TWIN = "0x" + "5e".repeat(32);
const contextOf = (i: number): RecordContext => ({
  twinId: TWIN,
  recordKey: `Observation/${i}`,
  category: DataCategory.LABS,
});
const recordOf = (i: number) => new TextEncoder().encode(`{"lab":${i}}`);

describe("store/reader-grants", () => {
  const hospital = newWallet();
  const patient = newWallet();
  const doctor = newWallet();
  const stranger = newWallet();
  let blobs: MemoryBlobStore;
  let keys: MemoryKeyStore;
  let cids: string[];

  beforeEach(async () => {
    blobs = new MemoryBlobStore();
    keys = new MemoryKeyStore();
    cids = [];
    for (const i of [0, 1, 2]) {
      const sealed = sealRecord(recordOf(i), contextOf(i), [publicKeyOf(hospital), publicKeyOf(patient)]);
      const cid = await blobs.put(sealed.envelope);
      for (const { reader, wrappedKey } of sealed.wrappedKeys)
        await keys.put({ twinId: TWIN, recordCid: cid, reader, wrappedKey });
      cids.push(cid);
    }
  });

  it("re-wraps the covered records' keys to a new reader, who can then open them", async () => {
    // the doctor's public key comes from its signed request
    const request = "TwinLedger access request";
    const doctorKey = publicKeyFromSignature(request, await doctor.signMessage(request));
    const result = await grantReaderKeys(keys, {
      twinId: TWIN,
      recordCids: cids.slice(0, 2),
      holderKey: patient,
      readerPublicKey: doctorKey,
    });
    expect(result).to.deep.equal({ reader: doctor.address, recordCids: cids.slice(0, 2) });

    for (const i of [0, 1]) {
      const wrapped = await keys.get({ twinId: TWIN, recordCid: cids[i], reader: doctor.address });
      const envelope = await blobs.get(cids[i]);
      expect(sameBytes(openRecord(envelope, wrapped, doctor, contextOf(i)), recordOf(i))).to.equal(true);
    }
    // not covered by the grant
    await expectRejectCode(keys.get({ twinId: TWIN, recordCid: cids[2], reader: doctor.address }), "KEY_NOT_FOUND");
  });

  it("a re-wrapped key is useless to anyone but the new reader", async () => {
    await grantReaderKeys(keys, {
      twinId: TWIN,
      recordCids: [cids[0]],
      holderKey: hospital,
      readerPublicKey: publicKeyOf(doctor),
    });
    const wrapped = await keys.get({ twinId: TWIN, recordCid: cids[0], reader: doctor.address });
    const envelope = await blobs.get(cids[0]);
    for (const other of [hospital, patient, stranger]) {
      expectCode(() => openRecord(envelope, wrapped, other, contextOf(0)), "CRYPTO_DECRYPT");
    }
  });

  it("needs a holder that has the key", async () => {
    await expectRejectCode(
      grantReaderKeys(keys, {
        twinId: TWIN,
        recordCids: [cids[0]],
        holderKey: stranger,
        readerPublicKey: publicKeyOf(doctor),
      }),
      "KEY_NOT_FOUND",
    );
  });

  it("revokes a reader's keys", async () => {
    await grantReaderKeys(keys, {
      twinId: TWIN,
      recordCids: cids,
      holderKey: patient,
      readerPublicKey: publicKeyOf(doctor),
    });
    expect(await revokeReaderKeys(keys, TWIN, doctor.address, cids)).to.equal(3);
    await expectRejectCode(keys.get({ twinId: TWIN, recordCid: cids[0], reader: doctor.address }), "KEY_NOT_FOUND");
    expect(await keys.readers(TWIN, cids[0])).to.deep.equal([hospital.address, patient.address].sort());
  });

  it("refuses to add readers to an erased twin", async () => {
    await keys.destroyAllForTwin(TWIN);
    await expectRejectCode(
      grantReaderKeys(keys, {
        twinId: TWIN,
        recordCids: [cids[0]],
        holderKey: patient,
        readerPublicKey: publicKeyOf(doctor),
      }),
      "TWIN_ERASED",
    );
  });

  it("re-wraps version-1 and version-2 keys alike, under one ephemeral key for the whole grant", async () => {
    // a record stored before format version 2: its keys are version-1 wraps (made independently, as the old code did)
    const legacy = encryptEnvelope(recordOf(3), contextOf(3));
    const cid = await blobs.put(legacy.envelope);
    const compressed = (wallet: Wallet) =>
      Uint8Array.from(Buffer.from(SigningKey.computePublicKey(wallet.signingKey.publicKey, true).slice(2), "hex"));
    await keys.put({
      twinId: TWIN,
      recordCid: cid,
      reader: patient.address,
      wrappedKey: wrapV1(legacy.dataKey, compressed(patient)),
    });
    const all = [...cids, cid];
    expect(parseWrappedKey(await keys.get({ twinId: TWIN, recordCid: cid, reader: patient.address })).version).to.equal(
      1,
    );
    expect(
      parseWrappedKey(await keys.get({ twinId: TWIN, recordCid: cids[0], reader: patient.address })).version,
    ).to.equal(2);

    await grantReaderKeys(keys, {
      twinId: TWIN,
      recordCids: all,
      holderKey: patient,
      readerPublicKey: publicKeyOf(doctor),
    });
    const granted = await Promise.all(
      all.map((recordCid) => keys.get({ twinId: TWIN, recordCid, reader: doctor.address })),
    );
    const parsed = granted.map(parseWrappedKey);
    expect(parsed.map((p) => p.version)).to.deep.equal([2, 2, 2, 2]);
    expect(new Set(parsed.map((p) => hexlify(p.ephemeralPublicKey))).size).to.equal(1);
    expect(new Set(parsed.map((p) => hexlify(p.salt))).size).to.equal(4);
    for (const [i, recordCid] of all.entries()) {
      const envelope = await blobs.get(recordCid);
      expect(sameBytes(openRecord(envelope, granted[i], doctor, contextOf(i)), recordOf(i))).to.equal(true);
    }
  });
});
