import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex } from "./bytes";

/**
 * The on-chain anchor of a stored blob: keccak256 of the exact bytes stored (the encrypted
 * envelope, never the plaintext), as a `bytes32` hex string (`0x` + 64 lowercase hex digits).
 * Every module that anchors or verifies a blob uses this one function.
 */
export function contentHash(bytes: Uint8Array): string {
  return bytesToHex(keccak_256(bytes));
}
