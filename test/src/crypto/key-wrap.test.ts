import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { hexlify, SigningKey, Wallet } from "ethers";
import { parseWrappedKey, publicKeyOf, unwrapDataKey, wrapDataKey, WRAPPED_KEY_BYTES } from "../../../src/crypto";
import { expectCode, flipBit, sameBytes } from "./expect-error";

const newWallet = () => new Wallet(hexlify(randomBytes(32)));

describe("crypto/key-wrap", () => {
  const alice = newWallet();
  const bob = newWallet();
  const dataKey = randomBytes(32);

  it("wraps to a reader's public key and unwraps with its private key", () => {
    const wrapped = wrapDataKey(dataKey, publicKeyOf(alice));
    expect(wrapped.length).to.equal(WRAPPED_KEY_BYTES).and.to.equal(87);
    expect(sameBytes(unwrapDataKey(wrapped, alice), dataKey)).to.equal(true);
    expect(sameBytes(unwrapDataKey(wrapped, alice.privateKey), dataKey)).to.equal(true);
    expect(sameBytes(unwrapDataKey(wrapped, alice.signingKey), dataKey)).to.equal(true);
  });

  it("accepts the public key compressed, uncompressed, raw or as ethers hex", () => {
    const key = alice.signingKey;
    const uncompressed = Buffer.from(key.publicKey.slice(2), "hex");
    for (const form of [
      key.publicKey,
      key.compressedPublicKey,
      uncompressed,
      uncompressed.subarray(1),
      publicKeyOf(alice),
    ]) {
      expect(sameBytes(unwrapDataKey(wrapDataKey(dataKey, form), alice), dataKey)).to.equal(true);
    }
  });

  it("uses a fresh ephemeral key for every wrap", () => {
    const one = parseWrappedKey(wrapDataKey(dataKey, publicKeyOf(alice)));
    const two = parseWrappedKey(wrapDataKey(dataKey, publicKeyOf(alice)));
    expect(sameBytes(one.ephemeralPublicKey, two.ephemeralPublicKey)).to.equal(false);
    expect(sameBytes(one.encryptedKey, two.encryptedKey)).to.equal(false);
  });

  it("keeps working when the reader's point gets its precomputed table", () => {
    const carol = newWallet();
    for (let i = 0; i < 6; i++) {
      const key = randomBytes(32);
      expect(sameBytes(unwrapDataKey(wrapDataKey(key, carol.signingKey.publicKey), carol), key)).to.equal(true);
    }
  });

  it("is useless to another reader", () => {
    const forAlice = wrapDataKey(dataKey, publicKeyOf(alice));
    expectCode(() => unwrapDataKey(forAlice, bob), "CRYPTO_DECRYPT");
  });

  it("detects tampering in every field", () => {
    const wrapped = wrapDataKey(dataKey, publicKeyOf(alice));
    // prefix 02 <-> 03 negates the ephemeral point: same ECDH x-coordinate, but E is bound in HKDF and AAD
    const fields = { ephemeralPrefix: 6 * 8, ephemeralX: 20 * 8, encryptedKey: 50 * 8 + 1, tag: 86 * 8 + 7 };
    for (const bit of Object.values(fields)) {
      expectCode(() => unwrapDataKey(flipBit(wrapped, bit), alice), "CRYPTO_DECRYPT", "CRYPTO_FORMAT");
    }
    expectCode(() => unwrapDataKey(flipBit(wrapped, 6 * 8), alice), "CRYPTO_DECRYPT");
  });

  it("rejects truncated and garbled wrapped keys with CRYPTO_FORMAT", () => {
    const wrapped = wrapDataKey(dataKey, publicKeyOf(alice));
    const notOnCurve = Uint8Array.from(wrapped);
    notOnCurve.fill(0xff, 7, 39); // x >= p is not a field element
    for (const bytes of [
      new Uint8Array(0),
      wrapped.subarray(0, 86),
      Uint8Array.from([...wrapped, 0]),
      flipBit(wrapped, 3), // magic
      Uint8Array.from([...wrapped.subarray(0, 4), 2, ...wrapped.subarray(5)]), // version 2
      Uint8Array.from([...wrapped.subarray(0, 5), 7, ...wrapped.subarray(6)]), // unknown suite
      Uint8Array.from([...wrapped.subarray(0, 6), 0x04, ...wrapped.subarray(7)]), // not a compressed point
      notOnCurve,
    ]) {
      expectCode(() => unwrapDataKey(bytes, alice), "CRYPTO_FORMAT");
    }
  });

  it("rejects malformed keys with CRYPTO_KEY_INVALID", () => {
    expectCode(() => wrapDataKey(randomBytes(31), publicKeyOf(alice)), "CRYPTO_KEY_INVALID");
    expectCode(() => wrapDataKey(dataKey, randomBytes(20)), "CRYPTO_KEY_INVALID");
    expectCode(() => wrapDataKey(dataKey, "0x02" + "00".repeat(32)), "CRYPTO_KEY_INVALID"); // x = 0 is off the curve
    expectCode(() => wrapDataKey(dataKey, "not hex"), "CRYPTO_KEY_INVALID");
    const wrapped = wrapDataKey(dataKey, publicKeyOf(alice));
    expectCode(() => unwrapDataKey(wrapped, new Uint8Array(32)), "CRYPTO_KEY_INVALID"); // zero is not a key
    const n = "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    expectCode(() => unwrapDataKey(wrapped, n), "CRYPTO_KEY_INVALID");
    expectCode(() => unwrapDataKey(wrapped, "0x1234"), "CRYPTO_KEY_INVALID");
  });

  it("does not reveal the private key in errors", () => {
    const wrapped = wrapDataKey(dataKey, publicKeyOf(alice));
    const error = expectCode(() => unwrapDataKey(wrapped, bob), "CRYPTO_DECRYPT");
    expect(error.message).not.to.include(bob.privateKey.slice(2));
    expect(new SigningKey(bob.privateKey).privateKey).to.equal(bob.privateKey); // the key object is untouched
  });
});
