import { expect } from "chai";
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import { hexlify, Wallet } from "ethers";
import {
  CryptoError,
  decryptEnvelope,
  encryptEnvelope,
  publicKeyOf,
  unwrapDataKey,
  wrapDataKey,
  type RecordContext,
} from "../../../src/crypto";
import { flipBit, sameBytes } from "./expect-error";

/** Asserts `action` throws a CryptoError with one of the codes (fast-check friendly: returns a boolean). */
function rejects(action: () => unknown, ...codes: string[]): boolean {
  try {
    action();
  } catch (error) {
    return error instanceof CryptoError && codes.includes(error.code);
  }
  return false;
}

const bytes = (maxLength: number) => fc.uint8Array({ maxLength });
const context: fc.Arbitrary<RecordContext> = fc.record({
  twinId: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexlify(b)),
  recordKey: fc.string({ minLength: 1, maxLength: 80 }),
  category: fc.integer({ min: 0, max: 0xffffffff }),
});

describe("crypto properties (fast-check)", () => {
  it("envelopes round-trip for arbitrary bytes and associated data", () => {
    fc.assert(
      fc.property(bytes(4096), bytes(256), (plaintext, aad) => {
        const { envelope, dataKey } = encryptEnvelope(plaintext, aad);
        return sameBytes(decryptEnvelope(envelope, dataKey, aad), plaintext);
      }),
      { numRuns: 300 },
    );
  });

  it("envelopes round-trip for arbitrary record contexts", () => {
    fc.assert(
      fc.property(bytes(512), context, (plaintext, ctx) => {
        const { envelope, dataKey } = encryptEnvelope(plaintext, ctx);
        return sameBytes(decryptEnvelope(envelope, dataKey, ctx), plaintext);
      }),
      { numRuns: 200 },
    );
  });

  it("any single bit flip of an envelope is detected", () => {
    fc.assert(
      fc.property(bytes(512), bytes(64), fc.nat(), (plaintext, aad, seed) => {
        const { envelope, dataKey } = encryptEnvelope(plaintext, aad);
        const tampered = flipBit(envelope, seed % (envelope.length * 8));
        return rejects(() => decryptEnvelope(tampered, dataKey, aad), "CRYPTO_DECRYPT", "CRYPTO_FORMAT");
      }),
      { numRuns: 500 },
    );
  });

  it("any single bit flip of the associated data or record context is detected", () => {
    fc.assert(
      fc.property(
        bytes(256),
        bytes(64).filter((a) => a.length > 0),
        fc.nat(),
        (plaintext, aad, seed) => {
          const { envelope, dataKey } = encryptEnvelope(plaintext, aad);
          return rejects(
            () => decryptEnvelope(envelope, dataKey, flipBit(aad, seed % (aad.length * 8))),
            "CRYPTO_DECRYPT",
          );
        },
      ),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(bytes(128), context, context, (plaintext, a, b) => {
        fc.pre(
          a.twinId.toLowerCase() !== b.twinId.toLowerCase() || a.recordKey !== b.recordKey || a.category !== b.category,
        );
        const { envelope, dataKey } = encryptEnvelope(plaintext, a);
        return rejects(() => decryptEnvelope(envelope, dataKey, b), "CRYPTO_DECRYPT");
      }),
      { numRuns: 200 },
    );
  });

  it("any single bit flip of a wrapped key is detected", function () {
    this.timeout(300_000);
    const reader = new Wallet(hexlify(randomBytes(32)));
    const dataKey = randomBytes(32);
    const wrapped = wrapDataKey(dataKey, publicKeyOf(reader));
    expect(sameBytes(unwrapDataKey(wrapped, reader), dataKey)).to.equal(true);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: wrapped.length * 8 - 1 }), (bit) =>
        rejects(() => unwrapDataKey(flipBit(wrapped, bit), reader), "CRYPTO_DECRYPT", "CRYPTO_FORMAT"),
      ),
      { numRuns: 60 },
    );
  });
});
