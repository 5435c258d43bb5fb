import { expect } from "chai";
import fc from "fast-check";
import { getCurves, randomBytes } from "node:crypto";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { hexlify, SigningKey } from "ethers";
import {
  ephemeralPublicKeyNative,
  ephemeralPublicKeyNoble,
  ephemeralPublicKeyOpenSsl,
  JAVASCRIPT_ECDH,
  NATIVE_ECDH,
  randomSecret,
  readerEcdhNative,
  readerEcdhNoble,
  readerEcdhOpenSsl,
  senderSharedXNative,
  senderSharedXNoble,
  type EcdhBackend,
  type ReaderEcdh,
} from "../../../src/crypto/ecdh";
import { parseWrappedKey, unwrapDataKeyWith, wrapToReader } from "../../../src/crypto/key-wrap";
import { nativeSecp256k1, secp256k1Backend } from "../../../src/crypto/native-secp256k1";
import {
  addressOfPoint,
  compressedPublicKeyNative,
  compressedPublicKeyNoble,
  publicKeyFromDigestEthers,
  publicKeyFromDigestNative,
  publicKeyPoint,
} from "../../../src/crypto/reader-keys";
import type { ReaderPoint } from "../../../src/crypto/reader-point-cache";
import { CryptoError } from "../../../src/crypto";
import { expectCode, sameBytes } from "./expect-error";

const RUNS = 100;
const N = BigInt("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
const hasOpenSslSecp256k1 = getCurves().includes("secp256k1");

/** A valid secret key (32 bytes in [1, n-1]). */
const secretKey = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .filter((b) => b.some((x) => x !== 0) && BigInt(hexlify(b)) < N);
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

type ReaderEcdhFn = (secret: Uint8Array, ephemeral: Uint8Array) => ReaderEcdh;

/** The reader-side ECDH backends available here, by name. */
function readerBackends(): [string, ReaderEcdhFn][] {
  const backends: [string, ReaderEcdhFn][] = [["noble", readerEcdhNoble]];
  if (hasOpenSslSecp256k1) backends.push(["OpenSSL", readerEcdhOpenSsl]);
  if (nativeSecp256k1) backends.push(["libsecp256k1", readerEcdhNative]);
  return backends;
}

/** A reader decoded the way reader-point-cache.ts does, without the cache (so no precomputed table). */
function decodedReader(publicKey: Uint8Array): ReaderPoint {
  const point = publicKeyPoint(publicKey);
  return { point, compressed: point.toBytes(true), address: addressOfPoint(point) };
}

/** The outcome of an action: its bytes as hex, or the CryptoError code it threw. */
function outcome(action: () => Uint8Array): string {
  try {
    return hexlify(action());
  } catch (error) {
    if (error instanceof CryptoError) return `error ${error.code}`;
    throw error;
  }
}

describe("crypto/native-secp256k1 (libsecp256k1 binding)", () => {
  it("reports the backend it loaded, and the switch-off variable disables it", () => {
    expect(secp256k1Backend()).to.equal(nativeSecp256k1 ? "libsecp256k1 (native)" : "noble / OpenSSL (JavaScript)");
    if (process.env.TWINLEDGER_NO_NATIVE_SECP256K1 === "1") expect(nativeSecp256k1).to.equal(null);
    expect(NATIVE_ECDH === null).to.equal(nativeSecp256k1 === null);
  });

  describe("gives the same bytes as the JavaScript backends", function () {
    beforeEach(function () {
      if (!nativeSecp256k1) this.skip(); // the binding does not load here (or is switched off)
    });

    it("ECDH x-coordinate and reader public key, on both sides of the exchange", () => {
      fc.assert(
        fc.property(secretKey, secretKey, (readerSecret, ephemeralSecret) => {
          const readerPublic = secp256k1.getPublicKey(readerSecret, true);
          const ephemeralPublic = secp256k1.getPublicKey(ephemeralSecret, true);
          const expectedX = secp256k1.getSharedSecret(readerSecret, ephemeralPublic, true).subarray(1);
          for (const [, backend] of readerBackends()) {
            const { sharedX, readerPublicKey } = backend(readerSecret, ephemeralPublic);
            expect(hexlify(sharedX)).to.equal(hexlify(expectedX));
            expect(hexlify(readerPublicKey)).to.equal(hexlify(readerPublic));
          }
          const reader = decodedReader(readerPublic);
          expect(hexlify(senderSharedXNative(ephemeralSecret, reader))).to.equal(hexlify(expectedX));
          expect(hexlify(senderSharedXNoble(ephemeralSecret, reader))).to.equal(hexlify(expectedX));
        }),
        { numRuns: RUNS },
      );
    });

    it("ECDH with an uncompressed ephemeral key", () => {
      fc.assert(
        fc.property(secretKey, secretKey, (readerSecret, ephemeralSecret) => {
          const uncompressed = secp256k1.getPublicKey(ephemeralSecret, false);
          const expected = hexlify(readerEcdhNoble(readerSecret, uncompressed).sharedX);
          expect(hexlify(readerEcdhNative(readerSecret, uncompressed).sharedX)).to.equal(expected);
        }),
        { numRuns: 20 },
      );
    });

    it("ephemeral (and reader) public keys", () => {
      fc.assert(
        fc.property(secretKey, (secret) => {
          const expected = hexlify(secp256k1.getPublicKey(secret, true));
          expect(hexlify(ephemeralPublicKeyNative(secret))).to.equal(expected);
          expect(hexlify(ephemeralPublicKeyNoble(secret))).to.equal(expected);
          if (hasOpenSslSecp256k1) expect(hexlify(ephemeralPublicKeyOpenSsl(secret))).to.equal(expected);
          expect(hexlify(compressedPublicKeyNative(secret))).to.equal(expected);
          expect(hexlify(compressedPublicKeyNoble(secret))).to.equal(expected);
          expect(hexlify(compressedPublicKeyNative(secret))).to.equal(new SigningKey(secret).compressedPublicKey);
        }),
        { numRuns: RUNS },
      );
    });

    it("the public key recovered from a signature in any ethers form (and its high-s twin refused)", () => {
      fc.assert(
        fc.property(secretKey, bytes32, (secret, digestBytes) => {
          const key = new SigningKey(hexlify(secret));
          const digest = hexlify(digestBytes);
          const signature = key.sign(digest);
          const highS = { r: signature.r, s: hexlify(toBytes32(N - BigInt(signature.s))), v: 55 - signature.v };
          for (const sig of [signature, signature.serialized, signature.compactSerialized, highS]) {
            const viaNative = outcome(() => publicKeyFromDigestNative(digest, sig));
            expect(viaNative).to.equal(outcome(() => publicKeyFromDigestEthers(digest, sig)));
            // ethers refuses to parse an s at or above 2^255, which n - s almost always is: both backends refuse it
            const expected = sig === highS ? "error CRYPTO_SIGNATURE_INVALID" : key.compressedPublicKey;
            expect(viaNative).to.equal(expected);
          }
        }),
        { numRuns: RUNS },
      );
    });

    it("the outcome of recovering from arbitrary r, s and parity (a key, or an error)", () => {
      const outcomes = new Set<string>();
      fc.assert(
        fc.property(bytes32, bytes32, bytes32, fc.constantFrom(0 as const, 1 as const), (digest, r, s, yParity) => {
          const signature = { r: hexlify(r), s: hexlify(s), yParity };
          const viaNative = outcome(() => publicKeyFromDigestNative(digest, signature));
          expect(viaNative).to.equal(outcome(() => publicKeyFromDigestEthers(digest, signature)));
          outcomes.add(viaNative.startsWith("error") ? viaNative : "key");
        }),
        { numRuns: RUNS },
      );
      // about half of random r are x-coordinates, and ethers refuses s >= 2^255: both outcomes were compared
      expect([...outcomes].sort()).to.deep.equal(["error CRYPTO_SIGNATURE_INVALID", "key"]);
      // edge values of r and s: zero, n, n - 1, and r that is not the x-coordinate of a point
      const edges = [0n, 1n, N - 1n, N, 2n ** 256n - 1n].map((v) => hexlify(toBytes32(v)));
      const digest = randomBytes(32);
      for (const r of edges) {
        for (const s of edges) {
          for (const yParity of [0, 1] as const) {
            const viaNative = outcome(() => publicKeyFromDigestNative(digest, { r, s, yParity }));
            expect(viaNative).to.equal(outcome(() => publicKeyFromDigestEthers(digest, { r, s, yParity })));
          }
        }
      }
    });

    it("refuses digests that are not 32 bytes and malformed signatures like ethers", () => {
      const key = new SigningKey(hexlify(randomBytes(32)));
      const digest = hexlify(randomBytes(32));
      const signature = key.sign(digest).serialized;
      for (const [badDigest, badSignature] of [
        [digest.slice(0, 64), signature],
        [digest + "00", signature],
        ["not hex", signature],
        [digest, "0x1234"],
        [digest, "0x" + "00".repeat(65)],
      ]) {
        for (const recover of [publicKeyFromDigestNative, publicKeyFromDigestEthers]) {
          expectCode(() => recover(badDigest, badSignature), "CRYPTO_SIGNATURE_INVALID");
        }
      }
    });
  });

  describe("refuses invalid points with the same error code in every backend", () => {
    const readerSecret = secp256k1.utils.randomSecretKey();
    const valid = secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), false);
    const wrongY = Uint8Array.from(valid);
    wrongY[64] ^= 1;
    const hybrid = Uint8Array.from(valid);
    hybrid[0] = 0x06 + (valid[64] & 1); // accepted by libsecp256k1 and OpenSSL themselves, not by noble
    const invalid: [string, Uint8Array][] = [
      ["x = 0 (7 is not a square mod p)", Uint8Array.from([0x02, ...new Uint8Array(32)])],
      ["x >= p", Uint8Array.from([0x03, ...new Uint8Array(32).fill(0xff)])],
      ["the point at infinity", Uint8Array.of(0x00)],
      ["33 zero bytes", new Uint8Array(33)],
      ["uncompressed, y off the curve", wrongY],
      ["hybrid encoding", hybrid],
      ["x alone", valid.subarray(1, 33)],
    ];

    for (const [name, ephemeral] of invalid) {
      it(`the reader's ECDH: ${name}`, () => {
        for (const [, backend] of readerBackends()) {
          expectCode(() => backend(readerSecret, ephemeral), "CRYPTO_FORMAT");
        }
      });
    }

    it("an unwrap whose ephemeral key is not a point, with every backend", () => {
      const reader = secp256k1.keygen();
      const wrapped = wrapToReader(randomBytes(32), decodedReader(reader.publicKey), JAVASCRIPT_ECDH);
      for (const prefix of [0x02, 0x03]) {
        const bad = Uint8Array.from(wrapped);
        bad[6] = prefix;
        bad.fill(0, 7, 39); // x = 0
        for (const [, backend] of readerBackends()) {
          expectCode(() => unwrapDataKeyWith(bad, reader.secretKey, { readerEcdh: backend }), "CRYPTO_FORMAT");
        }
      }
    });
  });

  describe("wraps made by one backend unwrap with the others", function () {
    beforeEach(function () {
      if (!NATIVE_ECDH) this.skip();
    });

    it("native wrap -> JavaScript unwrap and JavaScript wrap -> native unwrap", () => {
      const native = NATIVE_ECDH as EcdhBackend;
      const nobleOnly: EcdhBackend = {
        ephemeralPublicKey: ephemeralPublicKeyNoble,
        senderSharedX: senderSharedXNoble,
        readerEcdh: readerEcdhNoble,
      };
      const wrappers = [native, JAVASCRIPT_ECDH, nobleOnly];
      fc.assert(
        fc.property(secretKey, bytes32, (readerSecret, dataKey) => {
          const reader = decodedReader(secp256k1.getPublicKey(readerSecret, true));
          for (const wrapper of wrappers) {
            const wrapped = wrapToReader(dataKey, reader, wrapper);
            expect(parseWrappedKey(wrapped).ephemeralPublicKey[0]).to.be.oneOf([0x02, 0x03]);
            for (const [, readerEcdh] of readerBackends()) {
              expect(sameBytes(unwrapDataKeyWith(wrapped, readerSecret, { readerEcdh }), dataKey)).to.equal(true);
            }
          }
        }),
        { numRuns: 30 },
      );
    });

    it("a wrap to one reader does not open for another, whichever backend unwraps", () => {
      const alice = secp256k1.keygen();
      const bob = secp256k1.keygen();
      const wrapped = wrapToReader(randomBytes(32), decodedReader(alice.publicKey), NATIVE_ECDH as EcdhBackend);
      for (const [, readerEcdh] of readerBackends()) {
        expectCode(() => unwrapDataKeyWith(wrapped, bob.secretKey, { readerEcdh }), "CRYPTO_DECRYPT");
      }
    });
  });

  describe("ephemeral secrets", () => {
    it("are fresh, valid secp256k1 secret keys", () => {
      const seen = new Set<string>();
      for (let i = 0; i < 200; i++) {
        const secret = randomSecret();
        expect(secret.length).to.equal(32);
        expect(secp256k1.utils.isValidSecretKey(secret)).to.equal(true);
        seen.add(hexlify(secret));
      }
      expect(seen.size).to.equal(200);
    });
  });
});

/** A non-negative integer below 2^256 as 32 big-endian bytes. */
function toBytes32(value: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(value.toString(16).padStart(64, "0"), "hex"));
}
