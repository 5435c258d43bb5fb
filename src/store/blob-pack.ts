import { createHash } from "node:crypto";
import { fileSize, readRange } from "./pack-file";

/**
 * @internal The blob pack format: many blobs in one file, the index first so that opening a pack reads only its
 * index. All integers big-endian.
 *
 * ```
 * header (48 bytes)  "TLBP" magic (4), version 1 (1), zero (3), entry count (u32),
 *                    sha-256 of the index bytes (32), zero (4)
 * index              per blob: content id (59 ASCII bytes), offset in the file (u64), length (u32)
 * data               the blobs, one after another
 * ```
 *
 * @dev Content ids are fixed-width (CIDv1 raw sha2-256 base32, 59 characters, checked by `parseCid` before any
 * blob is stored), so index entries are fixed-width too. The index digest makes a damaged index detectable before
 * any offset in it is trusted; each blob is still re-hashed against its content id on read (`verifyBlob`).
 */

const MAGIC = Buffer.from("TLBP", "ascii");
export const BLOB_PACK_VERSION = 1;
const HEADER_BYTES = 48;
const CID_BYTES = 59;
const ENTRY_BYTES = CID_BYTES + 8 + 4;

/** Where a blob is in a pack. */
export interface BlobPackEntry {
  readonly cid: string;
  readonly offset: number;
  readonly length: number;
}

/** A pack whose header or index cannot be trusted (bad magic or version, digest mismatch, offsets outside it). */
export class BlobPackDamaged extends Error {
  constructor(reason: string) {
    super(`blob pack damaged: ${reason}`);
  }
}

/** A pack of blobs (content ids already computed and valid), and its index. */
export function encodeBlobPack(blobs: readonly { cid: string; bytes: Uint8Array }[]): {
  bytes: Buffer;
  entries: BlobPackEntry[];
} {
  const index = Buffer.alloc(blobs.length * ENTRY_BYTES);
  const entries: BlobPackEntry[] = [];
  let offset = HEADER_BYTES + index.length;
  for (const [i, { cid, bytes }] of blobs.entries()) {
    const at = i * ENTRY_BYTES;
    if (index.write(cid, at, CID_BYTES, "ascii") !== CID_BYTES) throw new RangeError("content id of a wrong width");
    index.writeBigUInt64BE(BigInt(offset), at + CID_BYTES);
    index.writeUInt32BE(bytes.length, at + CID_BYTES + 8);
    entries.push({ cid, offset, length: bytes.length });
    offset += bytes.length;
  }
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header[4] = BLOB_PACK_VERSION;
  header.writeUInt32BE(blobs.length, 8);
  createHash("sha256").update(index).digest().copy(header, 12);
  return { bytes: Buffer.concat([header, index, ...blobs.map((blob) => blob.bytes)], offset), entries };
}

/**
 * The index of a pack on disk, reading only the header and the index. Throws {@link BlobPackDamaged}; file system
 * errors (ENOENT when the pack was rewritten or deleted meanwhile) propagate.
 */
export async function readBlobPackIndex(path: string): Promise<BlobPackEntry[]> {
  const size = await fileSize(path);
  const header = await readRange(path, 0, HEADER_BYTES);
  if (header.length < HEADER_BYTES) throw new BlobPackDamaged("shorter than its header");
  if (!header.subarray(0, 4).equals(MAGIC)) throw new BlobPackDamaged("not a blob pack");
  if (header[4] !== BLOB_PACK_VERSION) throw new BlobPackDamaged(`unknown version ${header[4]}`);
  const count = header.readUInt32BE(8);
  const dataStart = HEADER_BYTES + count * ENTRY_BYTES;
  if (dataStart > size) throw new BlobPackDamaged("index longer than the file");
  const index = await readRange(path, HEADER_BYTES, count * ENTRY_BYTES);
  if (index.length !== count * ENTRY_BYTES) throw new BlobPackDamaged("index truncated");
  if (!createHash("sha256").update(index).digest().equals(header.subarray(12, 44))) {
    throw new BlobPackDamaged("index digest mismatch");
  }
  const entries: BlobPackEntry[] = [];
  for (let at = 0; at < index.length; at += ENTRY_BYTES) {
    const offset = Number(index.readBigUInt64BE(at + CID_BYTES));
    const length = index.readUInt32BE(at + CID_BYTES + 8);
    if (offset < dataStart || offset + length > size) throw new BlobPackDamaged("a blob lies outside the file");
    entries.push({ cid: index.toString("ascii", at, at + CID_BYTES), offset, length });
  }
  return entries;
}
