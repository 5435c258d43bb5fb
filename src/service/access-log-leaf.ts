import { bytesToHex } from "@noble/hashes/utils.js";
import { LRUCache } from "lru-cache";
import { checksumOrNull } from "../crypto/address";
import { writeHex } from "../crypto/bytes";
import { keccak256 } from "../crypto/keccak";

/**
 * The access log's leaf hash on bytes: keccak256(keccak256(abi.encode(uint64 index, uint64 timeMs, bytes32 twinId,
 * address reader, string queryType, uint32 category, uint16 purpose, string decision, bytes32 requestHash))), what
 * `StandardMerkleTree`'s leaf hash gives with ethers' AbiCoder, without its coder objects and hex round trips (which
 * were 23% of the gateway's busy time per allowed query, inside the append's transaction). A leaf outside the fast
 * path's narrow forms (a value out of its type's range, a mixed-case address without a valid checksum, a number
 * that is not a plain decimal) gets `null` here and is hashed by ethers, which encodes it the same way or throws its
 * usual error, so the two never disagree (held equal by a differential test on random leaves,
 * test/src/service/access-log-leaf.test.ts).
 *
 * @dev Layout: nine head words (the two strings as offsets 288 and 288 + 32 + their padded length), then each
 * string as its length word and its UTF-8 bytes zero-padded to 32. The index is written last (`withIndex`), so an
 * append prepares the whole encoding before its transaction and only fills in the index inside it.
 */
export interface PreparedLeaf {
  /** The leaf hash (0x-prefixed hex) of the prepared entry at `index`. */
  hashAt(index: number): string;
}

const HEX_BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const LOWER_ADDRESS = /^0x[0-9a-f]{40}$/;
const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;
const utf8 = new TextEncoder();
const HEAD_WORDS = 9;
const UINT64_LIMIT = 1n << 64n;

/**
 * The leaf's encoding with its index word left to fill, from the leaf's other values (`[, timeMs, twinId, reader,
 * queryType, category, purpose, decision, requestHash]` as `leafOf` gives them); null when a value is not in the
 * fast path's form.
 */
export function prepareLeaf(leaf: readonly string[]): PreparedLeaf | null {
  const [, time, twinId, reader, queryType, category, purpose, decision, requestHash] = leaf;
  if (!HEX_BYTES32.test(twinId) || !HEX_BYTES32.test(requestHash) || !isCanonicalAddress(reader)) return null;
  const timeValue = uint(time, UINT64_LIMIT);
  const categoryValue = uint(category, 1n << 32n);
  const purposeValue = uint(purpose, 1n << 16n);
  if (timeValue === null || categoryValue === null || purposeValue === null) return null;
  const queryTypeBytes = utf8.encode(queryType);
  const decisionBytes = utf8.encode(decision);
  const queryTypeWords = 1 + Math.ceil(queryTypeBytes.length / 32);
  const decisionWords = 1 + Math.ceil(decisionBytes.length / 32);
  const out = new Uint8Array(32 * (HEAD_WORDS + queryTypeWords + decisionWords));
  const queryTypeAt = 32 * HEAD_WORDS;
  const decisionAt = queryTypeAt + 32 * queryTypeWords;
  writeUint(BigInt(time), out, 32);
  writeHex(twinId, out, 64);
  writeHex(reader, out, 96 + 12);
  writeUint(BigInt(queryTypeAt), out, 128);
  writeUint(categoryValue, out, 160);
  writeUint(purposeValue, out, 192);
  writeUint(BigInt(decisionAt), out, 224);
  writeHex(requestHash, out, 256);
  writeUint(BigInt(queryTypeBytes.length), out, queryTypeAt);
  out.set(queryTypeBytes, queryTypeAt + 32);
  writeUint(BigInt(decisionBytes.length), out, decisionAt);
  out.set(decisionBytes, decisionAt + 32);
  return {
    hashAt(index: number): string {
      if (!Number.isSafeInteger(index) || index < 0) throw new RangeError("a leaf index is a non-negative integer");
      out.fill(0, 0, 32);
      writeUint(BigInt(index), out, 0);
      return `0x${bytesToHex(keccak256(keccak256(out)))}`;
    },
  };
}

/** A plain decimal below `limit`, or null. */
function uint(value: string, limit: bigint): bigint | null {
  if (!DECIMAL.test(value)) return null;
  const n = BigInt(value);
  return n < limit ? n : null;
}

function writeUint(n: bigint, out: Uint8Array, offset: number): void {
  for (let i = 31; i >= 0 && n > 0n; i--) {
    out[offset + i] = Number(n & 0xffn);
    n >>= 8n;
  }
}

/** Lower case, or mixed case with a valid EIP-55 checksum (what ethers' address coder accepts); memoized. */
const checkedAddresses = new LRUCache<string, boolean>({ max: 65_536 });
function isCanonicalAddress(value: string): boolean {
  if (!HEX_ADDRESS.test(value)) return false;
  if (LOWER_ADDRESS.test(value)) return true;
  let ok = checkedAddresses.get(value);
  if (ok === undefined) {
    ok = checksumOrNull(value.toLowerCase()) === value;
    checkedAddresses.set(value, ok);
  }
  return ok;
}
