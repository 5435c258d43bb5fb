import { expect } from "chai";
import fc from "fast-check";
import { hexlify, recoverAddress, SigningKey, Wallet } from "ethers";
import { signDigest } from "../../../src/crypto/digest-signing";
import { nativeSecp256k1 } from "../../../src/crypto/native-secp256k1";

const N = BigInt("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
const secretKey = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .filter((b) => b.some((x) => x !== 0) && BigInt(hexlify(b)) < N);
const digest = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexlify(b));

describe("crypto/digest-signing: signDigest", function () {
  it("gives ethers' SigningKey.sign bytes on the JavaScript path", () => {
    fc.assert(
      fc.property(secretKey, digest, (secret, message) => {
        const key = new SigningKey(hexlify(secret));
        expect(signDigest(key, message, null)).to.equal(key.sign(message).serialized);
      }),
      { numRuns: 50 },
    );
  });

  (nativeSecp256k1 ? it : it.skip)(
    "gives the same bytes through libsecp256k1 as ethers (RFC 6979, low s, v 27/28) (property)",
    () => {
      fc.assert(
        fc.property(secretKey, digest, (secret, message) => {
          const key = new SigningKey(hexlify(secret));
          const signature = signDigest(key, message);
          expect(signature).to.equal(key.sign(message).serialized);
          expect(recoverAddress(message, signature)).to.equal(new Wallet(key).address);
        }),
        { numRuns: 300 },
      );
    },
  );

  it("refuses a digest that is not 32 bytes of hex, on both paths, with ethers' error", () => {
    const key = new SigningKey(hexlify(new Uint8Array(32).fill(7)));
    for (const bad of ["0x1234", "0x" + "ab".repeat(33), "zz", "0x" + "g".repeat(64)]) {
      expect(() => signDigest(key, bad)).to.throw();
      expect(() => signDigest(key, bad, null)).to.throw();
    }
  });

  it("keeps the private key out of its errors", () => {
    const key = new SigningKey(hexlify(new Uint8Array(32).fill(9)));
    try {
      signDigest(key, "0x1234");
      expect.fail("signed a short digest");
    } catch (error) {
      expect(String((error as Error).message)).not.to.include("0909");
    }
  });
});
