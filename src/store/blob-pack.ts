import { CID_SHAPE, fileSize, readRange } from "./pack-file";

/**
 * @internal The blob pack format: many blobs in one file, the index first so that opening a pack reads only its
 * index. All integers big-endian.
 *
 * ```
 * header (16 bytes)  "TLBP" magic (4), version 1 (1), zero (3), entry count (u32), zero (4)
 * index              per blob: content id (59 ASCII bytes, or 59 zeros once deleted), offset (u64), length (u32)
 * data               the blobs, one after another, in index order
 * ```
 *
 * A deleted blob's bytes are overwritten with zeros and its index entry's content id too (a tombstone), in place:
 * deleting one blob of a large pack costs its own bytes, not a copy of the pack.
 *
 * @dev The index is checked structurally before any offset in it is trusted: content ids of the one accepted shape
 * (or tombstones), the blobs contiguous from the end of the index to the end of the file (so a truncated or
 * damaged index is detected). Each blob is still re-hashed against its content id on read (`verifyBlob`).
 */

/** "TLBP": a Uint8Array, not a Buffer, so that the module loads where Buffer does not exist (the web app bundles it). */
const MAGIC = Uint8Array.of(0x54, 0x4c, 0x42, 0x50);
export const BLOB_PACK_VERSION = 1;
const HEADER_BYTES = 16;
const CID_BYTES = 59;
const ENTRY_BYTES = CID_BYTES + 8 + 4;

/** Where a blob is in a pack. */
export interface BlobPackEntry {
  readonly cid: string;
  /** Position of its entry in the index (for the tombstone). */
  readonly slot: number;
  readonly offset: number;
  readonly length: number;
}

/** A pack whose header or index cannot be trusted (bad magic or version, offsets outside it, truncated). */
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
  for (const [slot, { cid, bytes }] of blobs.entries()) {
    const at = slot * ENTRY_BYTES;
    if (index.write(cid, at, CID_BYTES, "ascii") !== CID_BYTES) throw new RangeError("content id of a wrong width");
    index.writeBigUInt64BE(BigInt(offset), at + CID_BYTES);
    index.writeUInt32BE(bytes.length, at + CID_BYTES + 8);
    entries.push({ cid, slot, offset, length: bytes.length });
    offset += bytes.length;
  }
  const header = Buffer.alloc(HEADER_BYTES);
  header.set(MAGIC, 0);
  header[4] = BLOB_PACK_VERSION;
  header.writeUInt32BE(blobs.length, 8);
  return { bytes: Buffer.concat([header, index, ...blobs.map((blob) => blob.bytes)], offset), entries };
}

/**
 * The live entries of a pack on disk (tombstones left out) and its total entry count, reading only the header and
 * the index. Throws {@link BlobPackDamaged}; file system errors (ENOENT when the pack was renamed or deleted
 * meanwhile) propagate.
 */
export async function readBlobPackIndex(path: string): Promise<BlobPackEntry[]> {
  const size = await fileSize(path);
  const header = await readRange(path, 0, HEADER_BYTES);
  if (header.length < HEADER_BYTES) throw new BlobPackDamaged("shorter than its header");
  if (!header.subarray(0, 4).equals(MAGIC)) throw new BlobPackDamaged("not a blob pack");
  if (header[4] !== BLOB_PACK_VERSION) throw new BlobPackDamaged(`unknown version ${header[4]}`);
  const count = header.readUInt32BE(8);
  let expected = HEADER_BYTES + count * ENTRY_BYTES; // where the next blob must start
  if (expected > size) throw new BlobPackDamaged("index longer than the file");
  const index = await readRange(path, HEADER_BYTES, count * ENTRY_BYTES);
  if (index.length !== count * ENTRY_BYTES) throw new BlobPackDamaged("index truncated");
  const entries: BlobPackEntry[] = [];
  for (let slot = 0; slot < count; slot++) {
    const at = slot * ENTRY_BYTES;
    const offset = Number(index.readBigUInt64BE(at + CID_BYTES));
    const length = index.readUInt32BE(at + CID_BYTES + 8);
    if (offset !== expected) throw new BlobPackDamaged("blobs not where the index says");
    expected += length;
    if (index[at] === 0 && index.subarray(at, at + CID_BYTES).every((byte) => byte === 0)) continue; // deleted
    const cid = index.toString("ascii", at, at + CID_BYTES);
    if (!CID_SHAPE.test(cid)) throw new BlobPackDamaged("an index entry is not a content id");
    entries.push({ cid, slot, offset, length });
  }
  if (expected !== size) throw new BlobPackDamaged(expected > size ? "truncated" : "bytes after the last blob");
  return entries;
}

/** The byte range of an entry's content id in the index (zeroed to delete the entry). */
export function cidRangeOf(slot: number): { offset: number; length: number } {
  return { offset: HEADER_BYTES + slot * ENTRY_BYTES, length: CID_BYTES };
}
