import { expect } from "chai";
import { randomBytes } from "node:crypto";
import { hexlify, SigningKey, Wallet } from "ethers";
import {
  KeyUnwrapper,
  keyWrapper,
  parseWrappedKey,
  publicKeyOf,
  unwrapDataKey,
  wrapDataKey,
  wrapDataKeys,
  WRAPPED_KEY_BYTES,
  WRAPPED_KEY_V1_BYTES,
} from "../../../src/crypto";
import { ECDH, type EcdhBackend } from "../../../src/crypto/ecdh";
import { expectCode, flipBit, sameBytes } from "./expect-error";
import { openV2, wrapV1 } from "./legacy-wrap";

const newWallet = () => new Wallet(hexlify(randomBytes(32)));
const compressedOf = (wallet: Wallet) => SigningKey.computePublicKey(wallet.signingKey.publicKey, true);
const bytesOf = (hex: string) => Uint8Array.from(Buffer.from(hex.slice(2), "hex"));

/** The reader-side backend, counting its scalar multiplications `d·E`. */
function countingBackend(): { backend: Pick<EcdhBackend, "readerEcdh">; calls: () => number } {
  let calls = 0;
  return {
    backend: { readerEcdh: (secret, ephemeral) => (calls++, ECDH.readerEcdh(secret, ephemeral)) },
    calls: () => calls,
  };
}

describe("crypto/key-wrap", () => {
  const alice = newWallet();
  const bob = newWallet();
  const dataKey = randomBytes(32);

  it("wraps to a reader's public key (format version 2) and unwraps with its private key", () => {
    const wrapped = wrapDataKey(dataKey, publicKeyOf(alice));
    expect(wrapped.length).to.equal(WRAPPED_KEY_BYTES).and.to.equal(103);
    expect(parseWrappedKey(wrapped).version).to.equal(2);
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

  it("uses a fresh ephemeral key for every single wrap", () => {
    const one = parseWrappedKey(wrapDataKey(dataKey, publicKeyOf(alice)));
    const two = parseWrappedKey(wrapDataKey(dataKey, publicKeyOf(alice)));
    expect(sameBytes(one.ephemeralPublicKey, two.ephemeralPublicKey)).to.equal(false);
    expect(sameBytes(one.encryptedKey, two.encryptedKey)).to.equal(false);
  });

  it("wraps a batch under one ephemeral key, each wrap with its own salt and KEK", () => {
    const keys = [dataKey, dataKey, randomBytes(32)];
    const wrapped = wrapDataKeys(keys, publicKeyOf(alice));
    const parsed = wrapped.map(parseWrappedKey);
    for (const p of parsed) expect(sameBytes(p.ephemeralPublicKey, parsed[0].ephemeralPublicKey)).to.equal(true);
    expect(new Set(parsed.map((p) => hexlify(p.salt))).size).to.equal(3);
    // the same data key twice gives unrelated ciphertexts, because the KEK (and nonce) differ
    expect(sameBytes(parsed[0].encryptedKey, parsed[1].encryptedKey)).to.equal(false);
    const opened = wrapped.map((w) => openV2(w, bytesOf(alice.privateKey)));
    expect(new Set(opened.map((o) => hexlify(o.kek))).size).to.equal(3);
    opened.forEach((o, i) => expect(sameBytes(o.dataKey, keys[i])).to.equal(true));
    wrapped.forEach((w, i) => expect(sameBytes(unwrapDataKey(w, alice), keys[i])).to.equal(true));
  });

  it("a wrapper names its reader and refuses to wrap once disposed", () => {
    const wrapper = keyWrapper(alice.signingKey.publicKey);
    expect(wrapper.reader).to.equal(alice.address);
    const wrapped = wrapper.wrap(dataKey);
    wrapper.dispose();
    expect(() => wrapper.wrap(dataKey)).to.throw(/dispose/);
    expect(sameBytes(unwrapDataKey(wrapped, alice), dataKey)).to.equal(true);
  });

  it("keeps opening version-1 wrapped keys (87 bytes)", () => {
    const wrapped = wrapV1(dataKey, bytesOf(compressedOf(alice)));
    expect(wrapped.length).to.equal(WRAPPED_KEY_V1_BYTES).and.to.equal(87);
    expect(parseWrappedKey(wrapped).version).to.equal(1);
    expect(parseWrappedKey(wrapped).salt.length).to.equal(0);
    expect(sameBytes(unwrapDataKey(wrapped, alice), dataKey)).to.equal(true);
    expectCode(() => unwrapDataKey(wrapped, bob), "CRYPTO_DECRYPT");
    const fields = { ephemeralPrefix: 6 * 8, ephemeralX: 20 * 8, encryptedKey: 50 * 8 + 1, tag: 86 * 8 + 7 };
    for (const bit of Object.values(fields)) {
      expectCode(() => unwrapDataKey(flipBit(wrapped, bit), alice), "CRYPTO_DECRYPT", "CRYPTO_FORMAT");
    }
  });

  it("an unwrapper does d·E once per version-2 batch, once per version-1 key", () => {
    const keys = Array.from({ length: 20 }, () => randomBytes(32));
    const batch = wrapDataKeys(keys, publicKeyOf(alice));
    const other = wrapDataKeys(keys.slice(0, 3), publicKeyOf(alice));
    const legacy = keys.slice(0, 3).map((key) => wrapV1(key, bytesOf(compressedOf(alice))));
    const { backend, calls } = countingBackend();
    const unwrapper = new KeyUnwrapper(alice, backend);
    batch.forEach((w, i) => expect(sameBytes(unwrapper.unwrap(w), keys[i])).to.equal(true));
    expect(calls()).to.equal(1);
    other.forEach((w, i) => expect(sameBytes(unwrapper.unwrap(w), keys[i])).to.equal(true));
    expect(calls()).to.equal(2);
    legacy.forEach((w, i) => expect(sameBytes(unwrapper.unwrap(w), keys[i])).to.equal(true));
    expect(calls()).to.equal(5);
    // a tampered wrap of a cached batch still fails
    expectCode(() => unwrapper.unwrap(flipBit(batch[0], 45 * 8)), "CRYPTO_DECRYPT");
    unwrapper.dispose();
    expect(() => unwrapper.unwrap(batch[0])).to.throw(/dispose/);
  });

  it("is useless to another reader, even with the batch's ephemeral key cached", () => {
    const [forAlice] = wrapDataKeys([dataKey], publicKeyOf(alice));
    expectCode(() => unwrapDataKey(forAlice, bob), "CRYPTO_DECRYPT");
    const unwrapper = new KeyUnwrapper(bob);
    expectCode(() => unwrapper.unwrap(forAlice), "CRYPTO_DECRYPT");
    expectCode(() => unwrapper.unwrap(forAlice), "CRYPTO_DECRYPT");
    unwrapper.dispose();
  });

  it("detects tampering in every field of version 2 with CRYPTO_DECRYPT", () => {
    const wrapped = wrapDataKey(dataKey, publicKeyOf(alice));
    // prefix 02 <-> 03 negates the ephemeral point: same ECDH x-coordinate, but E is bound in HKDF and AAD
    expectCode(() => unwrapDataKey(flipBit(wrapped, 6 * 8), alice), "CRYPTO_DECRYPT");
    // a flipped x-coordinate bit may leave the curve (CRYPTO_FORMAT) or land on another point
    expectCode(() => unwrapDataKey(flipBit(wrapped, 20 * 8), alice), "CRYPTO_DECRYPT", "CRYPTO_FORMAT");
    const fields = { saltStart: 39 * 8, saltEnd: 54 * 8 + 7, encryptedKey: 60 * 8 + 1, tag: 102 * 8 + 7 };
    for (const bit of Object.values(fields)) {
      expectCode(() => unwrapDataKey(flipBit(wrapped, bit), alice), "CRYPTO_DECRYPT");
    }
  });

  it("rejects truncated and garbled wrapped keys with CRYPTO_FORMAT", () => {
    const wrapped = wrapDataKey(dataKey, publicKeyOf(alice));
    const legacy = wrapV1(dataKey, bytesOf(compressedOf(alice)));
    const notOnCurve = Uint8Array.from(wrapped);
    notOnCurve.fill(0xff, 7, 39); // x >= p is not a field element
    const withVersion = (bytes: Uint8Array, version: number) =>
      Uint8Array.from([...bytes.subarray(0, 4), version, ...bytes.subarray(5)]);
    for (const bytes of [
      new Uint8Array(0),
      wrapped.subarray(0, 5),
      wrapped.subarray(0, 102),
      Uint8Array.from([...wrapped, 0]),
      legacy.subarray(0, 86),
      Uint8Array.from([...legacy, 0]),
      wrapped.subarray(0, 87), // a version-2 key cut to version 1's length
      withVersion(wrapped, 1), // 103 bytes claiming version 1
      withVersion(legacy, 2), // 87 bytes claiming version 2
      withVersion(wrapped, 3),
      withVersion(wrapped, 0),
      flipBit(wrapped, 3), // magic
      Uint8Array.from([...wrapped.subarray(0, 5), 7, ...wrapped.subarray(6)]), // unknown suite
      Uint8Array.from([...wrapped.subarray(0, 6), 0x04, ...wrapped.subarray(7)]), // not a compressed point
    ]) {
      expectCode(() => parseWrappedKey(bytes), "CRYPTO_FORMAT");
      expectCode(() => unwrapDataKey(bytes, alice), "CRYPTO_FORMAT");
    }
    expectCode(() => unwrapDataKey(notOnCurve, alice), "CRYPTO_FORMAT"); // parsed, then refused by the ECDH
  });

  it("rejects malformed keys with CRYPTO_KEY_INVALID", () => {
    expectCode(() => wrapDataKey(randomBytes(31), publicKeyOf(alice)), "CRYPTO_KEY_INVALID");
    expectCode(() => keyWrapper(publicKeyOf(alice)).wrap(randomBytes(33)), "CRYPTO_KEY_INVALID");
    expectCode(() => wrapDataKey(dataKey, randomBytes(20)), "CRYPTO_KEY_INVALID");
    expectCode(() => wrapDataKey(dataKey, "0x02" + "00".repeat(32)), "CRYPTO_KEY_INVALID"); // x = 0 is off the curve
    expectCode(() => wrapDataKey(dataKey, "not hex"), "CRYPTO_KEY_INVALID");
    const wrapped = wrapDataKey(dataKey, publicKeyOf(alice));
    expectCode(() => unwrapDataKey(wrapped, new Uint8Array(32)), "CRYPTO_KEY_INVALID"); // zero is not a key
    const n = "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    expectCode(() => unwrapDataKey(wrapped, n), "CRYPTO_KEY_INVALID");
    expectCode(() => unwrapDataKey(wrapped, "0x1234"), "CRYPTO_KEY_INVALID");
    expectCode(() => new KeyUnwrapper("0x1234"), "CRYPTO_KEY_INVALID");
  });

  it("does not reveal the private key in errors", () => {
    const wrapped = wrapDataKey(dataKey, publicKeyOf(alice));
    const error = expectCode(() => unwrapDataKey(wrapped, bob), "CRYPTO_DECRYPT");
    expect(error.message).not.to.include(bob.privateKey.slice(2));
    expect(new SigningKey(bob.privateKey).privateKey).to.equal(bob.privateKey); // the key object is untouched
  });
});
