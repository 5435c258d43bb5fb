import { expect } from "chai";
import { randomBytes } from "node:crypto";
import {
  CryptoError,
  DATA_KEY_BYTES,
  decryptEnvelope,
  encodeRecordContext,
  encryptEnvelope,
  ENVELOPE_OVERHEAD,
  parseEnvelope,
  type RecordContext,
} from "../../../src/crypto";
import { DataCategory } from "../../../src/vocabulary";
import { expectCode, flipBit, sameBytes } from "./expect-error";

const utf8 = (text: string) => new TextEncoder().encode(text);
const TWIN_A = "0x" + "a1".repeat(32);
const TWIN_B = "0x" + "b2".repeat(32);
const CONTEXT: RecordContext = { twinId: TWIN_A, recordKey: "Condition/c-1", category: DataCategory.CONDITIONS };
const RECORD = utf8('{"resourceType":"Condition","id":"c-1","code":{"text":"Type 2 diabetes"}}');

describe("crypto/envelope", () => {
  it("round-trips a record under its context", () => {
    const { envelope, dataKey } = encryptEnvelope(RECORD, CONTEXT);
    expect(dataKey.length).to.equal(DATA_KEY_BYTES);
    expect(envelope.length).to.equal(RECORD.length + ENVELOPE_OVERHEAD);
    expect(sameBytes(decryptEnvelope(envelope, dataKey, CONTEXT), RECORD)).to.equal(true);
  });

  it("round-trips the empty record and raw associated data", () => {
    const aad = utf8("any associated data");
    const { envelope, dataKey } = encryptEnvelope(new Uint8Array(0), aad);
    expect(envelope.length).to.equal(ENVELOPE_OVERHEAD);
    expect(decryptEnvelope(envelope, dataKey, aad).length).to.equal(0);
  });

  it("hides the plaintext and uses a fresh key and nonce every time", () => {
    const one = encryptEnvelope(RECORD, CONTEXT);
    const two = encryptEnvelope(RECORD, CONTEXT);
    expect(sameBytes(one.dataKey, two.dataKey)).to.equal(false);
    expect(sameBytes(parseEnvelope(one.envelope).nonce, parseEnvelope(two.envelope).nonce)).to.equal(false);
    expect(Buffer.from(one.envelope).includes(Buffer.from("diabetes"))).to.equal(false);
  });

  it("writes the documented header", () => {
    const { envelope } = encryptEnvelope(RECORD, CONTEXT);
    expect(Buffer.from(envelope.subarray(0, 6)).toString("hex")).to.equal("544c52450101");
    const parsed = parseEnvelope(envelope);
    expect(parsed.version).to.equal(1);
    expect(parsed.suite).to.equal(1);
    expect(parsed.nonce.length).to.equal(12);
    expect(parsed.tag.length).to.equal(16);
    expect(parsed.ciphertext.length).to.equal(RECORD.length);
  });

  it("fails with another data key", () => {
    const { envelope } = encryptEnvelope(RECORD, CONTEXT);
    expectCode(() => decryptEnvelope(envelope, randomBytes(32), CONTEXT), "CRYPTO_DECRYPT");
  });

  it("cannot be moved to another twin, record or category", () => {
    const { envelope, dataKey } = encryptEnvelope(RECORD, CONTEXT);
    for (const other of [
      { ...CONTEXT, twinId: TWIN_B },
      { ...CONTEXT, recordKey: "Condition/c-2" },
      { ...CONTEXT, category: DataCategory.MENTAL_HEALTH },
    ]) {
      expectCode(() => decryptEnvelope(envelope, dataKey, other), "CRYPTO_DECRYPT");
    }
    // the twin id is bytes, so its hex case does not matter
    const upper = { ...CONTEXT, twinId: "0x" + TWIN_A.slice(2).toUpperCase() };
    expect(sameBytes(decryptEnvelope(envelope, dataKey, upper), RECORD)).to.equal(true);
  });

  it("detects a tampered nonce, ciphertext, tag or associated data", () => {
    const aad = utf8("twin a / record 1");
    const { envelope, dataKey } = encryptEnvelope(RECORD, aad);
    const nonceBit = 6 * 8;
    const ciphertextBit = 18 * 8 + 5;
    const tagBit = (envelope.length - 1) * 8;
    for (const bit of [nonceBit, ciphertextBit, tagBit]) {
      const error = expectCode(() => decryptEnvelope(flipBit(envelope, bit), dataKey, aad), "CRYPTO_DECRYPT");
      expect(error).to.be.instanceOf(CryptoError);
    }
    expectCode(() => decryptEnvelope(envelope, dataKey, flipBit(aad, 3)), "CRYPTO_DECRYPT");
    expectCode(() => decryptEnvelope(envelope, dataKey, aad.subarray(1)), "CRYPTO_DECRYPT");
  });

  it("rejects truncated and garbled envelopes with CRYPTO_FORMAT", () => {
    const { envelope, dataKey } = encryptEnvelope(RECORD, CONTEXT);
    const garbled = [
      new Uint8Array(0),
      envelope.subarray(0, ENVELOPE_OVERHEAD - 1),
      flipBit(envelope, 0), // magic
      Uint8Array.from([...envelope.subarray(0, 4), 2, ...envelope.subarray(5)]), // version 2
      Uint8Array.from([...envelope.subarray(0, 5), 9, ...envelope.subarray(6)]), // unknown suite
      utf8("not an envelope at all, just some text"),
    ];
    for (const bytes of garbled) expectCode(() => decryptEnvelope(bytes, dataKey, CONTEXT), "CRYPTO_FORMAT");
    expectCode(() => parseEnvelope("TLRE" as unknown as Uint8Array), "CRYPTO_FORMAT");
    // cut at the end: still long enough to parse, but the tag no longer authenticates
    expectCode(() => decryptEnvelope(envelope.subarray(0, envelope.length - 1), dataKey, CONTEXT), "CRYPTO_DECRYPT");
  });

  it("rejects a data key of the wrong size", () => {
    const { envelope } = encryptEnvelope(RECORD, CONTEXT);
    expectCode(() => decryptEnvelope(envelope, randomBytes(16), CONTEXT), "CRYPTO_KEY_INVALID");
  });

  it("never puts key material or plaintext in error messages", () => {
    const { envelope, dataKey } = encryptEnvelope(RECORD, CONTEXT);
    const error = expectCode(() => decryptEnvelope(flipBit(envelope, 200), dataKey, CONTEXT), "CRYPTO_DECRYPT");
    const text = `${error.message} ${String((error as Error & { cause?: unknown }).cause)}`;
    expect(text).not.to.include(Buffer.from(dataKey).toString("hex"));
    expect(text).not.to.include("diabetes");
  });

  describe("record context", () => {
    it("encodes domain, twin id, category and record key canonically", () => {
      const bytes = encodeRecordContext({ twinId: TWIN_A, recordKey: "Observation/1", category: 0x80 });
      const hex = Buffer.from(bytes).toString("hex");
      expect(Buffer.from(bytes.subarray(0, 28)).toString()).to.equal("TwinLedger/v1/record-context");
      expect(hex.slice(56, 120)).to.equal(TWIN_A.slice(2));
      expect(hex.slice(120, 128)).to.equal("00000080");
      expect(hex.slice(128, 132)).to.equal("000d");
      expect(Buffer.from(bytes.subarray(66)).toString()).to.equal("Observation/1");
    });

    it("rejects malformed contexts with CRYPTO_CONTEXT_INVALID", () => {
      for (const bad of [
        { ...CONTEXT, twinId: "twin-a" },
        { ...CONTEXT, twinId: TWIN_A.slice(0, 64) },
        { ...CONTEXT, recordKey: "" },
        { ...CONTEXT, recordKey: "x".repeat(0x10000) },
        { ...CONTEXT, category: -1 },
        { ...CONTEXT, category: 2 ** 32 },
        { ...CONTEXT, category: 1.5 },
      ]) {
        expectCode(() => encryptEnvelope(RECORD, bad), "CRYPTO_CONTEXT_INVALID");
      }
    });
  });
});
