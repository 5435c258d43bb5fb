import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { hexlify, keccak256, Wallet } from "ethers";
import {
  contentHash,
  KeyUnwrapper,
  openRecord,
  parseWrappedKey,
  publicKeyOf,
  sealRecord,
  sealRecords,
  type RecordContext,
} from "../../../src/crypto";
import { DataCategory } from "../../../src/vocabulary";
import { expectCode, sameBytes } from "./expect-error";

const newWallet = () => new Wallet(hexlify(randomBytes(32)));
const CONTEXT: RecordContext = {
  twinId: "0x" + "c3".repeat(32),
  recordKey: "Observation/bp-7",
  category: DataCategory.VITALS,
};
const RECORD = new TextEncoder().encode('{"resourceType":"Observation","valueQuantity":{"value":142}}');

describe("crypto/sealed-record", () => {
  const hospital = newWallet();
  const patient = newWallet();
  const stranger = newWallet();

  it("seals once for several readers, indexed by address, and each opens it", () => {
    const sealed = sealRecord(RECORD, CONTEXT, [publicKeyOf(hospital), patient.signingKey.publicKey]);
    expect(sealed.wrappedKeys.map((k) => k.reader)).to.deep.equal([hospital.address, patient.address]);
    for (const [reader, { wrappedKey }] of [hospital, patient].map((w, i) => [w, sealed.wrappedKeys[i]] as const)) {
      expect(sameBytes(openRecord(sealed.envelope, wrappedKey, reader, CONTEXT), RECORD)).to.equal(true);
    }
  });

  it("anchors keccak256 of the envelope", () => {
    const sealed = sealRecord(RECORD, CONTEXT, [publicKeyOf(hospital)]);
    expect(sealed.contentHash).to.equal(keccak256(sealed.envelope)).and.to.equal(contentHash(sealed.envelope));
    expect(sealed.contentHash).to.match(/^0x[0-9a-f]{64}$/);
  });

  it("a reader's wrapped key opens nothing for another reader", () => {
    const sealed = sealRecord(RECORD, CONTEXT, [publicKeyOf(hospital), publicKeyOf(patient)]);
    expectCode(() => openRecord(sealed.envelope, sealed.wrappedKeys[0].wrappedKey, patient, CONTEXT), "CRYPTO_DECRYPT");
    expectCode(
      () => openRecord(sealed.envelope, sealed.wrappedKeys[1].wrappedKey, stranger, CONTEXT),
      "CRYPTO_DECRYPT",
    );
  });

  it("a key for one record does not open another record", () => {
    const one = sealRecord(RECORD, CONTEXT, [publicKeyOf(patient)]);
    const two = sealRecord(RECORD, { ...CONTEXT, recordKey: "Observation/bp-8" }, [publicKeyOf(patient)]);
    expectCode(() => openRecord(two.envelope, one.wrappedKeys[0].wrappedKey, patient, CONTEXT), "CRYPTO_DECRYPT");
  });

  it("does not open under another twin's context", () => {
    const sealed = sealRecord(RECORD, CONTEXT, [publicKeyOf(patient)]);
    const otherTwin = { ...CONTEXT, twinId: "0x" + "d4".repeat(32) };
    expectCode(
      () => openRecord(sealed.envelope, sealed.wrappedKeys[0].wrappedKey, patient, otherTwin),
      "CRYPTO_DECRYPT",
    );
  });

  describe("sealRecords (bulk)", () => {
    const contexts = (twinId: string, count: number): RecordContext[] =>
      Array.from({ length: count }, (_, i) => ({ ...CONTEXT, twinId, recordKey: `Observation/bulk-${i}` }));
    const plaintextOf = (i: number) => new TextEncoder().encode(`{"value":${i}}`);
    const ephemeralOf = (wrappedKey: Uint8Array) => hexlify(parseWrappedKey(wrappedKey).ephemeralPublicKey);

    it("seals each record as sealRecord does: own data key, every reader opens it, contentHash of the envelope", () => {
      const readers = [publicKeyOf(hospital), patient.signingKey.publicKey];
      const sealed = sealRecords(
        contexts(CONTEXT.twinId, 5).map((context, i) => ({ plaintext: plaintextOf(i), context, readers })),
      );
      expect(sealed).to.have.length(5);
      sealed.forEach((record, i) => {
        const context = { ...CONTEXT, recordKey: `Observation/bulk-${i}` };
        expect(record.contentHash).to.equal(keccak256(record.envelope)).and.to.equal(contentHash(record.envelope));
        expect(record.wrappedKeys.map((k) => k.reader)).to.deep.equal([hospital.address, patient.address]);
        for (const [wallet, { wrappedKey }] of [hospital, patient].map((w, r) => [w, record.wrappedKeys[r]] as const)) {
          expect(sameBytes(openRecord(record.envelope, wrappedKey, wallet, context), plaintextOf(i))).to.equal(true);
        }
        // a key of the batch opens only its own record
        const other = sealed[(i + 1) % 5];
        expectCode(
          () => openRecord(other.envelope, record.wrappedKeys[1].wrappedKey, patient, context),
          "CRYPTO_DECRYPT",
        );
      });
      // one record sealed alone and in bulk: same envelope size and hash rule
      const single = sealRecord(plaintextOf(0), { ...CONTEXT, recordKey: "Observation/bulk-0" }, readers);
      expect(single.envelope.length).to.equal(sealed[0].envelope.length);
    });

    it("shares one ephemeral key per twin and reader within a call, never across twins or calls", () => {
      const readers = [publicKeyOf(hospital), publicKeyOf(patient)];
      const otherTwin = "0x" + "e5".repeat(32);
      const records = [...contexts(CONTEXT.twinId, 3), ...contexts(otherTwin, 2)].map((context, i) => ({
        plaintext: plaintextOf(i),
        context,
        readers,
      }));
      const sealed = sealRecords(records);
      const ephemerals = sealed.map((s) => s.wrappedKeys.map((k) => ephemeralOf(k.wrappedKey)));
      for (const i of [1, 2]) expect(ephemerals[i]).to.deep.equal(ephemerals[0]);
      expect(ephemerals[4]).to.deep.equal(ephemerals[3]);
      expect(ephemerals[0][0]).to.not.equal(ephemerals[0][1]); // per reader
      expect(ephemerals[3]).to.not.include(ephemerals[0][0]); // per twin
      expect(ephemerals[3]).to.not.include(ephemerals[0][1]);
      const again = sealRecords(records.slice(0, 1));
      expect(ephemeralOf(again[0].wrappedKeys[0].wrappedKey)).to.not.equal(ephemerals[0][0]); // per call
      // a bulk open as one reader
      const unwrapper = new KeyUnwrapper(patient);
      sealed.forEach((s, i) => expect(unwrapper.unwrap(s.wrappedKeys[1].wrappedKey)).to.have.length(32, `record ${i}`));
      unwrapper.dispose();
    });

    it("seals nothing for no records, and records without readers get no wrapped keys", () => {
      expect(sealRecords([])).to.deep.equal([]);
      const [sealed] = sealRecords([{ plaintext: RECORD, context: CONTEXT, readers: [] }]);
      expect(sealed.wrappedKeys).to.deep.equal([]);
    });

    it("refuses a bad reader key with CRYPTO_KEY_INVALID", () => {
      expectCode(
        () => sealRecords([{ plaintext: RECORD, context: CONTEXT, readers: ["0x1234"] }]),
        "CRYPTO_KEY_INVALID",
      );
    });
  });
});
