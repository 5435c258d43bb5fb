import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { gcm } from "@noble/ciphers/aes.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  decryptEnvelope,
  encodeRecordContext,
  encryptEnvelope,
  unwrapDataKey,
  wrapDataKey,
  WRAP_INFO,
  type RecordContext,
} from "../../../src/crypto";
import { sameBytes } from "./expect-error";
import { openV2, wrapV2 } from "./legacy-wrap";

/**
 * The documented formats, rebuilt independently with @noble/ciphers and @noble/hashes (the
 * module itself uses Node's OpenSSL for AES-GCM and HKDF), so the spec and the code agree.
 */
const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const ascii = (text: string) => new TextEncoder().encode(text);
const CONTEXT: RecordContext = { twinId: "0x" + "42".repeat(32), recordKey: "Observation/spo2-9", category: 128 };

describe("crypto formats (independent implementation)", () => {
  it("an envelope is TLRE ‖ 01 ‖ 01 ‖ nonce ‖ AES-256-GCM(key, nonce, header ‖ context) ‖ tag", () => {
    const plaintext = ascii("SpO2 97 %");
    const key = randomBytes(32);
    const nonce = randomBytes(12);
    const header = Uint8Array.of(0x54, 0x4c, 0x52, 0x45, 1, 1);
    const sealed = gcm(key, nonce, concat(header, encodeRecordContext(CONTEXT))).encrypt(plaintext); // ct ‖ tag
    const envelope = concat(header, nonce, sealed);
    expect(sameBytes(decryptEnvelope(envelope, key, CONTEXT), plaintext)).to.equal(true);

    // and the other way round
    const made = encryptEnvelope(plaintext, CONTEXT);
    const aad = concat(made.envelope.subarray(0, 6), encodeRecordContext(CONTEXT));
    const opened = gcm(made.dataKey, made.envelope.subarray(6, 18), aad).decrypt(made.envelope.subarray(18));
    expect(sameBytes(opened, plaintext)).to.equal(true);
  });

  it("a version-1 wrapped key (TLWK ‖ 01 ‖ 01 ‖ E ‖ AES-256-GCM(HKDF(x(e·R), info ‖ E ‖ R)) ‖ tag) still opens", () => {
    const reader = secp256k1.keygen();
    const dataKey = randomBytes(32);
    const e = secp256k1.keygen();
    const E = secp256k1.getPublicKey(e.secretKey, true);
    const x = secp256k1.getSharedSecret(e.secretKey, reader.publicKey, true).subarray(1);
    const okm = hkdf(sha256, x, new Uint8Array(0), concat(ascii(WRAP_INFO), E, reader.publicKey), 44);
    const prefix = concat(Uint8Array.of(0x54, 0x4c, 0x57, 0x4b, 1, 1), E);
    const wrapped = concat(prefix, gcm(okm.subarray(0, 32), okm.subarray(32), prefix).encrypt(dataKey));
    expect(wrapped.length).to.equal(87);
    expect(sameBytes(unwrapDataKey(wrapped, reader.secretKey), dataKey)).to.equal(true);
  });

  it("a version-2 wrapped key is TLWK ‖ 02 ‖ 01 ‖ E ‖ salt ‖ AES-256-GCM(HKDF(x(e·R), info2 ‖ E ‖ R ‖ salt)) ‖ tag", () => {
    const reader = secp256k1.keygen();
    const dataKey = randomBytes(32);
    const wrapped = wrapV2(dataKey, reader.publicKey);
    expect(wrapped.length).to.equal(103);
    expect(sameBytes(unwrapDataKey(wrapped, reader.secretKey), dataKey)).to.equal(true);

    // and the other way round: open the module's wrap with the reader's secret by hand
    const made = wrapDataKey(dataKey, reader.publicKey);
    expect([...made.subarray(0, 6)]).to.deep.equal([0x54, 0x4c, 0x57, 0x4b, 2, 1]);
    expect(sameBytes(openV2(made, reader.secretKey).dataKey, dataKey)).to.equal(true);
  });
});
