import { bytesToHex } from "./bytes";
import { keccak256 } from "./keccak";

/**
 * The on-chain anchor of a stored blob: keccak256 of the exact bytes stored (the encrypted
 * envelope, never the plaintext), as a `bytes32` hex string (`0x` + 64 lowercase hex digits).
 * Every module that anchors or verifies a blob uses this one function.
 */
export function contentHash(bytes: Uint8Array): string {
  return bytesToHex(keccak256(bytes));
}
