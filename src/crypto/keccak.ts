import { keccak_256 } from "@noble/hashes/sha3.js";

/**
 * keccak-256 over bytes, the one place for it, on the fastest of three backends that give the same bytes
 * (test/src/crypto/keccak.test.ts holds them equal, and to ethers):
 *
 * - hash-wasm's WebAssembly keccak (npm `hash-wasm`, its keccak-only build): the fastest for the small inputs that
 *   Merkle trees and commitments hash (measured on this 2-core machine: 0.9 µs a 64-byte node against 2.1 µs native;
 *   equal at 4 KB, 8% slower at 1 MB). Its module only compiles asynchronously, so it is loaded in the background on
 *   the first hash and takes over when ready (`keccakReady()` waits for it);
 * - the `keccak` npm package's native binding (the C code of the Keccak team, prebuilt for linux-x64, darwin-x64
 *   and win32-x64, loaded without an install script), meanwhile, or where WebAssembly does not load;
 * - noble's `keccak_256` (JavaScript) otherwise.
 *
 * @dev Like native-secp256k1.ts: loaded lazily on the first hash, switched off by `TWINLEDGER_NO_NATIVE_KECCAK=1`
 * and `TWINLEDGER_NO_WASM_KECCAK=1` (the tests use them to run the other paths), and browser-safe: where there is no
 * `require` or no `process` (the web app's bundle: Vite leaves this module's `require` calls as they are, undefined
 * in a browser) the noble path is used. The native package's public API builds a stream object per hash, which costs
 * as much as the hash itself for small inputs; so this module drives the binding's Keccak state (`initialize`,
 * `absorb`, `squeeze`, as the package's own `Keccak` class does) once the state has hashed a known vector correctly,
 * and uses the public API otherwise. A backend that does not hash the known vector correctly is not used.
 */

/** The backends, as reports name them. */
export type KeccakBackend = "hash-wasm (WebAssembly)" | "keccak (native)" | "noble (JavaScript)";

/** The binding's sponge state, as the package's `lib/api/keccak.js` uses it. */
interface KeccakState {
  initialize(rate: number, capacity: number): void;
  absorb(data: Uint8Array): void;
  squeeze(length: number): Uint8Array;
}

/** The package's public hasher (a stream with `update`/`digest`). */
interface KeccakHasher {
  update(data: Uint8Array): KeccakHasher;
  digest(): Uint8Array;
  readonly _state?: unknown;
}

type KeccakFactory = (algorithm: "keccak256") => KeccakHasher;
type Hash = (bytes: Uint8Array) => Uint8Array;

/** keccak-256's sponge parameters in bits: rate 1088, capacity 512. */
const RATE = 1088;
const CAPACITY = 512;
/** keccak256("") */
const EMPTY_HASH = "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470";

let implementation: Hash | undefined;
let implementationName: KeccakBackend = "noble (JavaScript)";
/** The WebAssembly backend's loading, started with the first hash; resolves once it is in use or refused. */
let wasmSwitch: Promise<void> | undefined;

/** keccak-256 of `bytes` (32 bytes). */
export function keccak256(bytes: Uint8Array): Uint8Array {
  return (implementation ??= load())(bytes);
}

/** noble's keccak-256, the fallback and the reference of the differential tests. */
export function keccak256Noble(bytes: Uint8Array): Uint8Array {
  return keccak_256(bytes);
}

/** Which keccak-256 this process uses now, for reports (the WebAssembly one once `keccakReady()` has resolved). */
export function keccakBackend(): KeccakBackend {
  implementation ??= load();
  return implementationName;
}

/**
 * Resolves with the backend once the WebAssembly keccak is in use, or known not to load here (switched off, not
 * installed, no WebAssembly): for processes that measure, and for tests. Hashing never waits for it.
 */
export async function keccakReady(): Promise<KeccakBackend> {
  implementation ??= load();
  await wasmSwitch;
  return implementationName;
}

/**
 * @internal hash-wasm's keccak-256, or null where it does not load (or is switched off, or does not hash the known
 * vector). One hasher object, used synchronously (`init`, `update`, `digest`: no other hash can run in between);
 * `digest("binary")` copies the hash out of the module's memory.
 */
export async function loadWasmKeccak256(): Promise<Hash | null> {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  if (env === undefined || env.TWINLEDGER_NO_WASM_KECCAK === "1") return null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional, loaded at run time (see above)
    const { createKeccak } = require("hash-wasm/dist/keccak.umd.min.js") as { createKeccak?: WasmKeccakFactory };
    if (typeof createKeccak !== "function") return null;
    const hasher = await createKeccak(256);
    const hash: Hash = (bytes) => {
      hasher.init();
      hasher.update(bytes);
      return hasher.digest("binary");
    };
    return hex(hash(new Uint8Array(0))) === EMPTY_HASH ? hash : null;
  } catch {
    return null;
  }
}

/** hash-wasm's `createKeccak` (its `IHasher`, the part used here). */
type WasmKeccakFactory = (bits: 256) => Promise<{
  init(): unknown;
  update(data: Uint8Array): unknown;
  digest(outputType: "binary"): Uint8Array;
}>;

/** @internal The native keccak-256, or null where the binding does not load (or is switched off). */
export function loadNativeKeccak256(): Hash | null {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  if (env === undefined || env.TWINLEDGER_NO_NATIVE_KECCAK === "1") return null;
  let factory: KeccakFactory;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional native binding, loaded at run time
    factory = require("keccak/bindings") as KeccakFactory;
    if (typeof factory !== "function") return null;
  } catch {
    return null;
  }
  const viaState = stateHash(factory);
  if (viaState && hex(viaState(new Uint8Array(0))) === EMPTY_HASH) return viaState;
  const viaApi: Hash = (bytes) => plainView(factory("keccak256").update(asBuffer(bytes)).digest());
  try {
    return hex(viaApi(new Uint8Array(0))) === EMPTY_HASH ? viaApi : null;
  } catch {
    return null;
  }
}

/** The synchronous backend for now (native, else noble), and the WebAssembly one's loading started. */
function load(): Hash {
  const native = loadNativeKeccak256();
  implementationName = native ? "keccak (native)" : "noble (JavaScript)";
  wasmSwitch ??= loadWasmKeccak256().then((wasm) => {
    if (wasm === null) return;
    implementation = wasm;
    implementationName = "hash-wasm (WebAssembly)";
  });
  return native ?? keccak256Noble;
}

/** A hash on one reused native state, or null when the hasher does not expose a state of the expected shape. */
function stateHash(factory: KeccakFactory): Hash | null {
  try {
    const state = factory("keccak256")._state as Partial<KeccakState> | undefined;
    if (
      typeof state?.initialize !== "function" ||
      typeof state.absorb !== "function" ||
      typeof state.squeeze !== "function"
    ) {
      return null;
    }
    const sponge = state as KeccakState;
    return (bytes) => {
      sponge.initialize(RATE, CAPACITY); // also clears what an earlier call may have left after a throw
      sponge.absorb(asBuffer(bytes));
      return plainView(sponge.squeeze(32));
    };
  } catch {
    return null;
  }
}

/** The binding takes Node Buffers: a view over the same memory, no copy. */
function asBuffer(bytes: Uint8Array): Uint8Array {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A plain `Uint8Array` of the digest (the binding returns a Buffer, which compares and prints differently). */
function plainView(digest: Uint8Array): Uint8Array {
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}
