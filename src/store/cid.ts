import { createHash } from "node:crypto";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { create as createDigest } from "multiformats/hashes/digest";
import { sha256 } from "multiformats/hashes/sha2";
import { StoreError } from "./errors";

/**
 * Content ids of stored blobs: CIDv1, `raw` codec (0x55), sha2-256 multihash (0x12), rendered
 * in lowercase base32 (`bafkrei…`, 59 characters), the same id an IPFS node gives raw leaves.
 */

/** The content id of some bytes. */
export function cidOf(bytes: Uint8Array): string {
  const digest = createHash("sha256").update(bytes).digest();
  return CID.createV1(raw.code, createDigest(sha256.code, digest)).toString();
}

/** Parse a content id strictly: CIDv1, raw, sha2-256 with a 32-byte digest, canonical base32. Throws `CID_INVALID`. */
export function parseCid(cid: string): CID {
  if (typeof cid !== "string") throw new StoreError("CID_INVALID", "content id must be a string");
  let parsed: CID;
  try {
    parsed = CID.parse(cid);
  } catch (cause) {
    throw new StoreError("CID_INVALID", `not a content id: ${describe(cid)}`, { cause });
  }
  if (
    parsed.version !== 1 ||
    parsed.code !== raw.code ||
    parsed.multihash.code !== sha256.code ||
    parsed.multihash.size !== 32 ||
    parsed.toString() !== cid
  ) {
    throw new StoreError("CID_INVALID", `not a CIDv1 raw sha2-256 base32 content id: ${describe(cid)}`);
  }
  return parsed;
}

/** True when the bytes hash to the content id (which must be valid). */
export function blobMatchesCid(cid: string, bytes: Uint8Array): boolean {
  const expected = parseCid(cid).multihash.digest;
  const actual = createHash("sha256").update(bytes).digest();
  return actual.equals(expected);
}

/** Refuse bytes that do not hash to their content id: throws `BLOB_TAMPERED`. */
export function verifyBlob(cid: string, bytes: Uint8Array): void {
  if (!blobMatchesCid(cid, bytes)) {
    throw new StoreError("BLOB_TAMPERED", `blob ${cid} does not match its content id (${bytes.length} bytes read)`);
  }
}

function describe(value: string): string {
  return value.length > 80 ? JSON.stringify(value.slice(0, 80)) + "…" : JSON.stringify(value);
}
