import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { hexlify, keccak256, Wallet } from "ethers";
import { contentHash, openRecord, publicKeyOf, sealRecord, type RecordContext } from "../../../src/crypto";
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
});
