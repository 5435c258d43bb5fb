import { expect } from "chai";
import fc from "fast-check";
import { Signature, SigningKey, Wallet, hexlify } from "ethers";
import { nativeSecp256k1, type NativeSecp256k1 } from "../../../src/crypto/native-secp256k1";
import { SignatureVerifier } from "../../../src/service/signatures";
import { expectCode } from "../crypto/expect-error";

const N = BigInt("0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");

/** A digest signed by a fresh wallet: the digest, the 65-byte signature (hex) and the signer's address. */
function signed(seed: Uint8Array, digestBytes: Uint8Array): { digest: string; signature: string; address: string } {
  const key = new SigningKey(hexlify(seed));
  const digest = hexlify(digestBytes);
  return { digest, signature: key.sign(digest).serialized, address: new Wallet(key).address };
}

/** The same signature with s replaced by n - s (and v flipped): valid ECDSA, but high-s. */
function highS(signature: string): string {
  const sig = Signature.from(signature);
  const s = N - BigInt(sig.s);
  const v = sig.v === 27 ? 28 : 27;
  return `${sig.r}${s.toString(16).padStart(64, "0")}${v.toString(16)}`;
}

const secretKey = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .filter((b) => b.some((x) => x !== 0) && BigInt(hexlify(b)) < N);
const digest32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe("service/signatures: SignatureVerifier", function () {
  const backends: [string, SignatureVerifier | null][] = [
    ["libsecp256k1", nativeSecp256k1 ? new SignatureVerifier(4096, nativeSecp256k1) : null],
    ["JavaScript", new SignatureVerifier(4096, null)],
  ];

  for (const [name, verifier] of backends) {
    describe(name, function () {
      beforeEach(function () {
        if (verifier === null) this.skip(); // the native binding did not load on this machine
      });

      it("recovers the signer of any digest, with and without a claimed reader", function () {
        fc.assert(
          fc.property(secretKey, digest32, (seed, d) => {
            const { digest, signature, address } = signed(seed, d);
            expect(verifier!.signer(digest, signature)).to.equal(address);
            expect(verifier!.signer(digest, signature, address.toLowerCase())).to.equal(address);
            // Twice: the second time from the cache.
            expect(verifier!.signer(digest, signature, address)).to.equal(address);
          }),
          { numRuns: 40 },
        );
      });

      it("compares a claimed reader by its bytes: lower, upper, checksummed or a wrong checksum alike", function () {
        const { digest, signature, address } = signed(new Uint8Array(32).fill(5), new Uint8Array(32).fill(6));
        const letter = address.slice(2).search(/[a-fA-F]/) + 2;
        const c = address[letter];
        const wrongChecksum = `${address.slice(0, letter)}${c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()}${address.slice(letter + 1)}`;
        for (const claimed of [address, address.toLowerCase(), `0x${address.slice(2).toUpperCase()}`, wrongChecksum]) {
          expect(verifier!.signer(digest, signature, claimed)).to.equal(address);
        }
      });

      it("refuses a signature that claims another reader", function () {
        const { digest, signature } = signed(new Uint8Array(32).fill(7), new Uint8Array(32).fill(1));
        const other = new Wallet(hexlify(new Uint8Array(32).fill(9))).address;
        expectCode(() => verifier!.signer(digest, signature, other), "bad-signature");
      });

      it("attributes a signature of another digest to someone else, never to the signer", function () {
        const { signature, address } = signed(new Uint8Array(32).fill(7), new Uint8Array(32).fill(1));
        const otherDigest = hexlify(new Uint8Array(32).fill(2));
        let recovered: string | null = null;
        try {
          recovered = verifier!.signer(otherDigest, signature);
        } catch (error) {
          expectCode(() => {
            throw error;
          }, "bad-signature");
        }
        expect(recovered).to.not.equal(address);
        expectCode(() => verifier!.signer(otherDigest, signature, address), "bad-signature");
      });

      it("a claimed reader known from before: another key's signature, another digest or high s are refused", function () {
        const seed = new Uint8Array(32).fill(11);
        const first = signed(seed, new Uint8Array(32).fill(12));
        expect(verifier!.signer(first.digest, first.signature, first.address)).to.equal(first.address); // now known
        const stranger = signed(new Uint8Array(32).fill(13), new Uint8Array(32).fill(14));
        expectCode(() => verifier!.signer(stranger.digest, stranger.signature, first.address), "bad-signature");
        expectCode(() => verifier!.signer(stranger.digest, first.signature, first.address), "bad-signature");
        expectCode(() => verifier!.signer(first.digest, highS(first.signature), first.address), "bad-signature");
        const later = signed(seed, new Uint8Array(32).fill(15));
        expect(verifier!.signer(later.digest, later.signature, first.address)).to.equal(first.address);
      });

      it("refuses high-s signatures, bad recovery ids and zero r or s", function () {
        const { digest, signature } = signed(new Uint8Array(32).fill(3), new Uint8Array(32).fill(4));
        expectCode(() => verifier!.signer(digest, highS(signature)), "bad-signature");
        expectCode(() => verifier!.signer(digest, `${signature.slice(0, 130)}1d`), "bad-signature");
        expectCode(() => verifier!.signer(digest, `0x${"00".repeat(32)}${signature.slice(66)}`), "bad-signature");
        expectCode(() => verifier!.signer(digest, `${signature.slice(0, 66)}${"00".repeat(32)}1b`), "bad-signature");
        expectCode(() => verifier!.signer(digest, "0x1234"), "bad-signature");
      });
    });
  }

  it("libsecp256k1: a claimed reader's later signatures are verified against its key, recovered once", function () {
    if (nativeSecp256k1 === null) this.skip();
    const native = nativeSecp256k1;
    const calls = { recover: 0, verify: 0 };
    const counted: NativeSecp256k1 = {
      ...native,
      ecdsaRecover: (...args) => (calls.recover++, native.ecdsaRecover(...args)),
      ecdsaVerify: (...args) => (calls.verify++, native.ecdsaVerify(...args)),
    };
    const verifier = new SignatureVerifier(4096, counted);
    const seed = new Uint8Array(32).fill(21);
    for (let i = 0; i < 3; i++) {
      const { digest, signature, address } = signed(seed, new Uint8Array(32).fill(30 + i));
      expect(verifier.signer(digest, signature, address)).to.equal(address);
    }
    expect(calls).to.deep.equal({ recover: 1, verify: 2 });
    // Without a claimed reader, every signature is recovered.
    const { digest, signature, address } = signed(seed, new Uint8Array(32).fill(40));
    expect(verifier.signer(digest, signature)).to.equal(address);
    expect(calls).to.deep.equal({ recover: 2, verify: 2 });
  });

  it("gives the same signer on both backends", function () {
    if (nativeSecp256k1 === null) this.skip();
    const native = new SignatureVerifier(4096, nativeSecp256k1);
    const js = new SignatureVerifier(4096, null);
    fc.assert(
      fc.property(digest32, digest32, fc.boolean(), digest32, (r, s, odd, d) => {
        // Arbitrary r, s and recovery id: both backends accept the same ones and name the same signer.
        const signature = `${hexlify(r)}${hexlify(s).slice(2)}${odd ? "1c" : "1b"}`;
        const digest = hexlify(d);
        const outcome = (v: SignatureVerifier): string => {
          try {
            return v.signer(digest, signature);
          } catch (error) {
            return (error as { code: string }).code;
          }
        };
        expect(outcome(native)).to.equal(outcome(js));
      }),
      { numRuns: 200 },
    );
  });
});
