import type { WeierstrassPoint } from "@noble/curves/abstract/weierstrass.js";
import { LRUCache } from "lru-cache";
import { bytesToHex } from "./bytes";
import { nativeSecp256k1 } from "./native-secp256k1";
import { addressOfPoint, publicKeyPoint, type PublicKeyLike } from "./reader-keys";

/** A reader's public key, decoded once: its point, compressed bytes and address. */
export interface ReaderPoint {
  readonly point: WeierstrassPoint<bigint>;
  readonly compressed: Uint8Array;
  readonly address: string;
}

/** Readers kept decoded; on the JavaScript path each precomputed table holds about 1 MB, so the cache stays small. */
const MAX_READERS = 8;
/**
 * Wraps to the same reader after which its point gets a precomputed multiplication table; never with
 * libsecp256k1, whose ECDH does not use it.
 */
const PRECOMPUTE_AFTER_USES = nativeSecp256k1 ? Number.POSITIVE_INFINITY : 4;
/** Window of that table: 8 bits makes the ECDH about 6x faster than an unprecomputed multiply. */
const PRECOMPUTE_WINDOW = 8;

interface Entry extends ReaderPoint {
  uses: number;
}
const entries = new LRUCache<string, Entry>({ max: MAX_READERS });

/**
 * @internal The decoded reader point for ECDH during key wrapping, least recently used first out.
 * @dev Readers are few (a custodian, the patient, a handful of grantees) and each is wrapped to
 * for many records, so decoding (validation, compressed form, address) is done once per reader.
 * With libsecp256k1 (native-secp256k1.ts) that is all: its ECDH takes about 0.08 ms. On the
 * JavaScript fallback, after a few uses the reader's point also gets a fixed-window precomputed
 * table (noble `Point.precompute`, constant-time `multiply`), which makes the ECDH as cheap as the
 * ephemeral key's base-point multiplication; building it takes about 0.1 s of CPU, once per reader
 * while it stays cached. Only public data is cached.
 */
export function readerPoint(publicKey: PublicKeyLike): ReaderPoint {
  const id = typeof publicKey === "string" ? publicKey.toLowerCase() : bytesToHex(publicKey);
  let entry = entries.get(id); // a hit refreshes its place in the LRU order
  if (entry === undefined) {
    const point = publicKeyPoint(publicKey);
    entry = { point, compressed: point.toBytes(true), address: addressOfPoint(point), uses: 0 };
    entries.set(id, entry);
  }
  entry.uses += 1;
  if (entry.uses === PRECOMPUTE_AFTER_USES) entry.point.precompute(PRECOMPUTE_WINDOW, false);
  return entry;
}
