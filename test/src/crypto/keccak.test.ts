import { expect } from "chai";
import fc from "fast-check";
import { execFileSync } from "node:child_process";
import { hexlify, keccak256 as ethersKeccak256 } from "ethers";
import { keccak256, keccakBackend } from "../../../src/crypto";
import { keccak256Noble, loadNativeKeccak256 } from "../../../src/crypto/keccak";

const SWITCH = "TWINLEDGER_NO_NATIVE_KECCAK";

/** Sizes around keccak-256's 136-byte rate, where padding changes. */
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 700 }),
  fc.integer({ min: 1, max: 3 }).chain((k) => fc.uint8Array({ minLength: 136 * k - 2, maxLength: 136 * k + 2 })),
);

describe("crypto/keccak", () => {
  const native = loadNativeKeccak256();

  it("uses the native binding here (the keccak package ships linux-x64 prebuilds)", function () {
    if (process.env[SWITCH] === "1") this.skip();
    expect(native).to.be.a("function");
    expect(keccakBackend()).to.equal("keccak (native)");
  });

  it("native == noble == ethers keccak256 on random inputs, views and Buffers included", function () {
    if (native === null) this.skip();
    const nativeHash = native;
    fc.assert(
      fc.property(bytes, fc.nat({ max: 16 }), (input, offset) => {
        const expected = ethersKeccak256(input);
        expect(hexlify(keccak256Noble(input))).to.equal(expected);
        expect(hexlify(nativeHash(input))).to.equal(expected);
        expect(hexlify(keccak256(input))).to.equal(expected);
        expect(hexlify(nativeHash(Buffer.from(input)))).to.equal(expected);
        const padded = new Uint8Array(offset + input.length + 3);
        padded.set(input, offset);
        expect(hexlify(nativeHash(padded.subarray(offset, offset + input.length)))).to.equal(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("returns a plain Uint8Array of 32 bytes, fresh on every call", () => {
    const one = keccak256(Uint8Array.of(1, 2, 3));
    const two = keccak256(Uint8Array.of(4, 5, 6));
    expect(Object.getPrototypeOf(one)).to.equal(Uint8Array.prototype);
    expect(one.length).to.equal(32);
    expect(hexlify(one)).to.equal(ethersKeccak256(Uint8Array.of(1, 2, 3)));
    expect(hexlify(two)).to.not.equal(hexlify(one));
  });

  it(`${SWITCH}=1 switches the binding off: noble, same hashes`, () => {
    const saved = process.env[SWITCH];
    process.env[SWITCH] = "1";
    try {
      expect(loadNativeKeccak256()).to.equal(null);
    } finally {
      if (saved === undefined) delete process.env[SWITCH];
      else process.env[SWITCH] = saved;
    }
    // a process started with the switch hashes on noble and agrees
    const script =
      'const k = require("./src/crypto/keccak"); const b = Buffer.from("TwinLedger");' +
      'process.stdout.write(JSON.stringify([k.keccakBackend(), Buffer.from(k.keccak256(b)).toString("hex")]))';
    const out = execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
      env: { ...process.env, [SWITCH]: "1" },
      timeout: 60_000,
    });
    const [backend, hash] = JSON.parse(out.toString()) as [string, string];
    expect(backend).to.equal("noble (JavaScript)");
    expect("0x" + hash).to.equal(ethersKeccak256(Buffer.from("TwinLedger")));
  });
});
