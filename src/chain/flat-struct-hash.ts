import { TypedDataEncoder, type TypedDataField } from "ethers";
import { LRUCache } from "lru-cache";
import { checksumOrNull } from "../crypto/address";
import { writeHex } from "../crypto/bytes";
import { keccak256 } from "../crypto/keccak";

/**
 * EIP-712 `hashStruct` for flat structs (fields of type address, bytes32, uint8…uint256 and string only), computed
 * on bytes: what `TypedDataEncoder.from(types).hash(value)` gives, without ethers' hex-string round trips (which were
 * 27% of the gateway's busy time per query). A value outside the fast path's narrow forms (an address with a wrong checksum, a
 * uint given as a string, …) is handed to ethers' encoder, which encodes it the same way or throws its usual error,
 * so the two never disagree (held equal by a property test in test/src/chain/flat-struct-hash.test.ts). Hashes with
 * src/crypto/keccak.ts (the native binding where it loads, noble in the browser).
 */
export class FlatStructHasher {
  private readonly encoder: TypedDataEncoder;
  private readonly fields: readonly FieldEncoder[] | null;
  private readonly typeHash: Uint8Array;

  constructor(types: Record<string, TypedDataField[]>) {
    this.encoder = TypedDataEncoder.from(types);
    const primary = types[this.encoder.primaryType];
    const encoders = primary.map((field) => fieldEncoder(field));
    this.fields = encoders.every((e): e is FieldEncoder => e !== null) ? encoders : null;
    this.typeHash = keccak256(new TextEncoder().encode(this.encoder.encodeType(this.encoder.primaryType)));
  }

  /** keccak256(typeHash ‖ enc(field₁) ‖ … ‖ enc(fieldₙ)) as 32 bytes. */
  hashStruct(value: Record<string, unknown>): Uint8Array {
    if (this.fields !== null) {
      const words = new Uint8Array(32 * (this.fields.length + 1));
      words.set(this.typeHash, 0);
      let fast = true;
      for (let i = 0; i < this.fields.length && fast; i++) {
        fast = this.fields[i].write(value[this.fields[i].name], words, 32 * (i + 1));
      }
      if (fast) return keccak256(words);
    }
    return hexToBytes(this.encoder.hash(value));
  }
}

interface FieldEncoder {
  readonly name: string;
  /** Writes the field's 32-byte encoding at `offset`; false when the value is not in the fast path's form. */
  write(value: unknown, out: Uint8Array, offset: number): boolean;
}

const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const UINT = /^uint(\d{1,3})$/;
const utf8 = new TextEncoder();

function fieldEncoder(field: TypedDataField): FieldEncoder | null {
  const { name, type } = field;
  if (type === "bytes32") {
    return {
      name,
      write: (value, out, offset) => typeof value === "string" && value.length === 66 && writeHex(value, out, offset),
    };
  }
  if (type === "address") {
    return {
      name,
      write: (value, out, offset) =>
        typeof value === "string" && isCanonicalAddress(value) && writeHex(value, out, offset + 12),
    };
  }
  if (type === "string") {
    return {
      name,
      write: (value, out, offset) => {
        if (typeof value !== "string") return false;
        out.set(stringHash(value), offset);
        return true;
      },
    };
  }
  const uint = UINT.exec(type);
  if (uint !== null) {
    const bits = Number(uint[1]);
    if (bits < 8 || bits > 256 || bits % 8 !== 0) return null;
    const limit = 1n << BigInt(bits);
    return {
      name,
      write: (value, out, offset) => {
        let n: bigint;
        if (typeof value === "number") {
          if (!Number.isSafeInteger(value) || value < 0) return false;
          n = BigInt(value);
        } else if (typeof value === "bigint") {
          n = value;
        } else return false;
        if (n < 0n || n >= limit) return false;
        for (let i = 31; i >= 0 && n > 0n; i--) {
          out[offset + i] = Number(n & 0xffn);
          n >>= 8n;
        }
        return true;
      },
    };
  }
  return null;
}

/**
 * keccak256 of a string field. The short strings of signed requests repeat (the gateway's origin, a few query
 * types), so their hashes are kept; long strings are hashed each time and not kept.
 */
const stringHashes = new LRUCache<string, Uint8Array>({ max: 1024 });
function stringHash(value: string): Uint8Array {
  if (value.length > 128) return keccak256(utf8.encode(value));
  let hash = stringHashes.get(value);
  if (hash === undefined) {
    hash = keccak256(utf8.encode(value));
    stringHashes.set(value, hash);
  }
  return hash;
}

/**
 * 40 hex digits after `0x` that ethers' address coder takes (lower or upper case, or a valid EIP-55 checksum); the
 * answers are cached in src/crypto/address.ts.
 */
function isCanonicalAddress(value: string): boolean {
  return HEX_ADDRESS.test(value) && checksumOrNull(value) !== null;
}

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array((hex.length - 2) / 2);
  writeHex(hex, out, 0);
  return out;
}
