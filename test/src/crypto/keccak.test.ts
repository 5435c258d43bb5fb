import { expect } from "chai";
import fc from "fast-check";
import { execFileSync } from "node:child_process";
import { hexlify, keccak256 as ethersKeccak256 } from "ethers";
import { keccak256, keccakBackend, keccakReady } from "../../../src/crypto";
import { keccak256Noble, loadNativeKeccak256, loadWasmKeccak256 } from "../../../src/crypto/keccak";

const SWITCH = "TWINLEDGER_NO_NATIVE_KECCAK";
const WASM_SWITCH = "TWINLEDGER_NO_WASM_KECCAK";

/** Runs `script` (with `k`, this module, and `b`, some bytes) in a new process with `env`; its JSON output. */
function inChild(script: string, env: Record<string, string>): unknown {
  const prelude = 'const k = require("./src/crypto/keccak"); const b = Buffer.from("TwinLedger");';
  const out = execFileSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", prelude + script], {
    env: { ...process.env, [SWITCH]: "", [WASM_SWITCH]: "", ...env },
    timeout: 60_000,
  });
  return JSON.parse(out.toString());
}

/** Sizes around keccak-256's 136-byte rate, where padding changes. */
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 700 }),
  fc.integer({ min: 1, max: 3 }).chain((k) => fc.uint8Array({ minLength: 136 * k - 2, maxLength: 136 * k + 2 })),
);

describe("crypto/keccak", () => {
  const native = loadNativeKeccak256();

  it("uses hash-wasm's WebAssembly keccak once ready, the native binding before (both load here)", async function () {
    if (process.env[SWITCH] === "1" || process.env[WASM_SWITCH] === "1") this.skip();
    expect(native).to.be.a("function");
    expect(await keccakReady()).to.equal("hash-wasm (WebAssembly)");
    expect(keccakBackend()).to.equal("hash-wasm (WebAssembly)");
    // a new process hashes natively at once, the same bytes on WebAssembly after
    const [before, first, after, second] = inChild(
      "const h = () => Buffer.from(k.keccak256(b)).toString('hex'); const r = [k.keccakBackend(), h()];" +
        "k.keccakReady().then(() => process.stdout.write(JSON.stringify([...r, k.keccakBackend(), h()])))",
      {},
    ) as string[];
    expect([before, after]).to.deep.equal(["keccak (native)", "hash-wasm (WebAssembly)"]);
    expect("0x" + first)
      .to.equal(ethersKeccak256(Buffer.from("TwinLedger")))
      .and.to.equal("0x" + second);
  });

  it("hash-wasm == noble == ethers keccak256 on random inputs, views, Buffers and 1 MB included", async function () {
    const wasm = await loadWasmKeccak256();
    if (wasm === null) this.skip();
    const wasmHash = wasm;
    fc.assert(
      fc.property(bytes, fc.nat({ max: 16 }), (input, offset) => {
        const expected = ethersKeccak256(input);
        expect(hexlify(wasmHash(input))).to.equal(expected);
        expect(hexlify(wasmHash(Buffer.from(input)))).to.equal(expected);
        const padded = new Uint8Array(offset + input.length + 3).fill(0xee);
        padded.set(input, offset);
        expect(hexlify(wasmHash(padded.subarray(offset, offset + input.length)))).to.equal(expected);
      }),
      { numRuns: 300 },
    );
    const large = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 255);
    expect(hexlify(wasmHash(large))).to.equal(hexlify(keccak256Noble(large)));
    // each hash is a copy out of the module's memory, not overwritten by the next
    const one = wasmHash(Uint8Array.of(1));
    const copy = hexlify(one);
    wasmHash(Uint8Array.of(2));
    expect(hexlify(one)).to.equal(copy);
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
    // a process started with both switches hashes on noble and agrees; with WebAssembly off, natively
    const script =
      "k.keccakReady().then((r) => process.stdout.write(JSON.stringify([r, Buffer.from(k.keccak256(b)).toString('hex')])))";
    const expected = ethersKeccak256(Buffer.from("TwinLedger"));
    const [backend, hash] = inChild(script, { [SWITCH]: "1", [WASM_SWITCH]: "1" }) as [string, string];
    expect(backend).to.equal("noble (JavaScript)");
    expect("0x" + hash).to.equal(expected);
    const [nativeOnly, nativeHash] = inChild(script, { [WASM_SWITCH]: "1" }) as [string, string];
    expect(nativeOnly).to.equal("keccak (native)");
    expect("0x" + nativeHash).to.equal(expected);
  });

  it(`${WASM_SWITCH}=1 switches WebAssembly off`, async () => {
    const saved = process.env[WASM_SWITCH];
    process.env[WASM_SWITCH] = "1";
    try {
      expect(await loadWasmKeccak256()).to.equal(null);
    } finally {
      if (saved === undefined) delete process.env[WASM_SWITCH];
      else process.env[WASM_SWITCH] = saved;
    }
  });
});
