import { getAddress, getBytes, hexlify } from "ethers";
import { StoreError } from "./errors";
import { CID_SHAPE } from "./pack-file";

/**
 * @internal The binary formats of the folder key store: one wrapped key per file (`.wkey`), or many per file
 * (`.wkpack`, written by `putMany`). Both say whose key each is (reader and record), so that `readers` and `records`
 * need no other index. Integers big-endian.
 *
 * ```
 * key file   version 1 (1), reader address (20), cid length (1), cid (ASCII), wrapped key (the rest)
 * key pack   "TLKP" magic (4), version 1 (1), zero (3), written at (u64, ms, orders packs), entry count (u32),
 *            then per entry: reader address (20), cid length (1), cid (ASCII), wrapped key length (u16), wrapped key
 * ```
 *
 * A removed (revoked) key is overwritten with zeros in place: a tombstone (a wrapped key starts with its format's
 * magic, so is never all zeros). The entries must parse exactly to the end of the file, with content ids of the one
 * accepted shape: a damaged or truncated pack is detected; a damaged wrapped key fails its authentication on unwrap.
 *
 * @dev The wrapped key's length is stored (pack) or is the rest of the file (key file): wrapped keys are 87 bytes
 * (format v1) or 103 (v2), and a store must not assume either.
 */

export const KEY_FILE_VERSION = 1;
/** "TLKP": a Uint8Array, not a Buffer, so that the module loads where Buffer does not exist (the web app bundles it). */
const PACK_MAGIC = Uint8Array.of(0x54, 0x4c, 0x4b, 0x50);
const PACK_HEADER_BYTES = 20;

/** What a key file (or a pack entry) holds: whose key it is, and the key. */
export interface KeyFile {
  readonly reader: string;
  readonly recordCid: string;
  readonly wrappedKey: Uint8Array;
}

/** An entry of a key pack, and where its wrapped key is in the file (to overwrite it). */
export interface KeyPackEntry extends KeyFile {
  readonly keyOffset: number;
}

/** A decoded key pack. */
export interface KeyPack {
  /** When it was written (ms since the epoch, made unique per process): of two entries for one ref, the later wins. */
  readonly writtenAt: number;
  /** The live entries (tombstones left out). */
  readonly entries: readonly KeyPackEntry[];
}

/** A key pack that cannot be trusted (bad magic or version, digest mismatch, truncated). */
export class KeyPackDamaged extends Error {
  constructor(reason: string) {
    super(`key pack damaged: ${reason}`);
  }
}

/** Key file: version (1 byte), reader address (20), cid length (1), cid (ASCII), wrapped key (the rest). */
export function encodeKeyFile({ reader, recordCid, wrappedKey }: KeyFile): Uint8Array {
  const cid = cidBytes(recordCid);
  const out = new Uint8Array(22 + cid.length + wrappedKey.length);
  out[0] = KEY_FILE_VERSION;
  out.set(getBytes(reader), 1);
  out[21] = cid.length;
  out.set(cid, 22);
  out.set(wrappedKey, 22 + cid.length);
  return out;
}

/** A key file's content, or undefined when it is not one. */
export function decodeKeyFile(bytes: Uint8Array): KeyFile | undefined {
  if (bytes.length < 22 || bytes[0] !== KEY_FILE_VERSION || bytes.length < 22 + bytes[21]) return undefined;
  const end = 22 + bytes[21];
  return {
    reader: getAddress(hexlify(bytes.subarray(1, 21))),
    recordCid: new TextDecoder().decode(bytes.subarray(22, end)),
    wrappedKey: Uint8Array.from(bytes.subarray(end)),
  };
}

/** A key pack of entries (already validated: checksummed readers, valid content ids), and where each key is. */
export function encodeKeyPack(writtenAt: number, entries: readonly KeyFile[]): { bytes: Buffer; pack: KeyPack } {
  let size = 0;
  for (const { recordCid, wrappedKey } of entries) {
    if (recordCid.length > 255) throw new StoreError("CID_INVALID", "content id too long for a key file");
    if (wrappedKey.length > 0xffff) throw new StoreError("STORE_IO", "wrapped key too long for a key pack");
    size += 23 + recordCid.length + wrappedKey.length; // content ids are ASCII (checked by parseCid)
  }
  const out = Buffer.alloc(PACK_HEADER_BYTES + size);
  const readers = new Map<string, Buffer>(); // a pack names a few readers many times
  let at = PACK_HEADER_BYTES;
  const located: KeyPackEntry[] = [];
  for (const { reader, recordCid, wrappedKey } of entries) {
    let address = readers.get(reader);
    if (address === undefined) readers.set(reader, (address = Buffer.from(getBytes(reader))));
    address.copy(out, at);
    out[at + 20] = recordCid.length;
    out.write(recordCid, at + 21, "ascii");
    at += 21 + recordCid.length;
    out.writeUInt16BE(wrappedKey.length, at);
    out.set(wrappedKey, at + 2);
    located.push({ reader, recordCid, wrappedKey, keyOffset: at + 2 });
    at += 2 + wrappedKey.length;
  }
  out.set(PACK_MAGIC, 0);
  out[4] = KEY_FILE_VERSION;
  out.writeBigUInt64BE(BigInt(writtenAt), 8);
  out.writeUInt32BE(entries.length, 16);
  return { bytes: out, pack: { writtenAt, entries: located } };
}

/** Decode a key pack (its wrapped keys are views of `bytes`: copy before handing one out). Throws {@link KeyPackDamaged}. */
export function decodeKeyPack(bytes: Buffer): KeyPack {
  if (bytes.length < PACK_HEADER_BYTES) throw new KeyPackDamaged("shorter than its header");
  if (!bytes.subarray(0, 4).equals(PACK_MAGIC)) throw new KeyPackDamaged("not a key pack");
  if (bytes[4] !== KEY_FILE_VERSION) throw new KeyPackDamaged(`unknown version ${bytes[4]}`);
  const count = bytes.readUInt32BE(16);
  const entries: KeyPackEntry[] = [];
  const readers = new Map<string, string>(); // a pack names a few readers many times: checksum each once
  let at = PACK_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + 23 > bytes.length || at + 23 + bytes[at + 20] > bytes.length) throw new KeyPackDamaged("truncated");
    const cidEnd = at + 21 + bytes[at + 20];
    const keyOffset = cidEnd + 2;
    const keyEnd = keyOffset + bytes.readUInt16BE(cidEnd);
    if (keyEnd > bytes.length) throw new KeyPackDamaged("truncated");
    const recordCid = bytes.toString("ascii", at + 21, cidEnd);
    if (!CID_SHAPE.test(recordCid)) throw new KeyPackDamaged("an entry's content id is not one");
    const wrappedKey = new Uint8Array(bytes.buffer, bytes.byteOffset + keyOffset, keyEnd - keyOffset); // a view
    if (wrappedKey.some((byte) => byte !== 0)) {
      const raw = bytes.toString("hex", at, at + 20);
      let reader = readers.get(raw);
      if (reader === undefined) readers.set(raw, (reader = getAddress("0x" + raw)));
      entries.push({ reader, recordCid, wrappedKey, keyOffset });
    }
    at = keyEnd;
  }
  if (at !== bytes.length) throw new KeyPackDamaged("bytes after the last entry");
  return { writtenAt: Number(bytes.readBigUInt64BE(8)), entries };
}

function cidBytes(recordCid: string): Uint8Array {
  const cid = new TextEncoder().encode(recordCid);
  if (cid.length > 255) throw new StoreError("CID_INVALID", "content id too long for a key file");
  return cid;
}
