import { getAddress } from "ethers";
import { LRUCache } from "lru-cache";
import { keccak256 } from "./keccak";

/**
 * EIP-55 checksummed addresses, the one place for them on hot paths: what ethers' `getAddress` returns, with the
 * keccak of src/crypto/keccak.ts (native where it loads) and a bounded cache of the answers. ethers hashes with its
 * JavaScript keccak on every call, which was 15% of the gateway's busy time per query (a batch's source per batch per
 * read, the claimed reader, the operator).
 *
 * @dev Only the 40-hex-digit forms are computed here; anything else (an ICAP address, a non-string, garbage) and a
 * mixed-case address whose checksum is wrong go to ethers' `getAddress`, which converts the one or throws its usual
 * `TypeError` (code `INVALID_ARGUMENT`) for the others, so callers see exactly what ethers would have given them (held
 * equal by a property test, test/src/crypto/address.test.ts). The cache is keyed by the exact string asked and keeps
 * valid answers only: a refused address costs a keccak each time, a known one a map lookup.
 */

/** Addresses kept (about 200 bytes each with the LRU's bookkeeping: 13 MB at most). */
export const ADDRESS_CACHE_ENTRIES = 65_536;

const HEX_40 = /^(0x)?[0-9a-fA-F]{40}$/;
const checksums = new LRUCache<string, string>({ max: ADDRESS_CACHE_ENTRIES });

/**
 * The EIP-55 form of `address`, as ethers' `getAddress` gives it: 40 hex digits with or without `0x`, in lower case,
 * upper case or a valid mixed-case checksum (ICAP too, through ethers).
 * @throws TypeError (ethers' `INVALID_ARGUMENT`, "bad address checksum" or "invalid address") where ethers throws.
 */
export function checksumAddress(address: string): string {
  return checksumOrNull(address) ?? getAddress(address);
}

/**
 * The EIP-55 form of a 40-hex-digit address (with or without `0x`) that ethers' `getAddress` accepts, or null when it
 * is not such an address or is mixed case with a wrong checksum (nothing thrown: for fast paths that fall back).
 */
export function checksumOrNull(address: string): string | null {
  const known = checksums.get(address);
  if (known !== undefined) return known;
  if (typeof address !== "string" || !HEX_40.test(address)) return null;
  const digits = address.length === 42 ? address.slice(2) : address;
  const lower = digits.toLowerCase();
  const checksummed = eip55(lower);
  // Mixed case is a claim of a checksum: it must be this one (as ethers checks it).
  if (digits !== lower && digits !== digits.toUpperCase() && checksummed.slice(2) !== digits) return null;
  checksums.set(address, checksummed);
  return checksummed;
}

/** `0x` + the 40 lower-case digits with each letter upper-cased where its nibble of keccak256(digits) is ≥ 8. */
function eip55(lower: string): string {
  const ascii = new Uint8Array(40);
  for (let i = 0; i < 40; i++) ascii[i] = lower.charCodeAt(i);
  const hash = keccak256(ascii);
  let out = "0x";
  for (let i = 0; i < 40; i++) {
    const nibble = i % 2 === 0 ? hash[i >> 1] >> 4 : hash[i >> 1] & 0x0f;
    const c = lower[i];
    out += nibble >= 8 ? c.toUpperCase() : c;
  }
  return out;
}
