import { CryptoError } from "./errors";

/**
 * Where a record belongs. Its encoding is the associated data of the record's AES-GCM
 * envelope, so a ciphertext only opens under the context it was sealed for: a blob moved to
 * another twin, record key or category fails authentication.
 */
export interface RecordContext {
  /** The twin's pseudonymous on-chain id, a `bytes32` as `0x` + 64 hex digits. */
  readonly twinId: string;
  /** The record's key within the twin, e.g. `Condition/123` or a wearable batch id. */
  readonly recordKey: string;
  /** The data category bit(s) of the record (`uint32` on chain). */
  readonly category: number;
}

/** Domain tag that starts every encoded record context. */
export const RECORD_CONTEXT_DOMAIN = "TwinLedger/v1/record-context";
const DOMAIN_BYTES = new TextEncoder().encode(RECORD_CONTEXT_DOMAIN);
const MAX_RECORD_KEY_BYTES = 0xffff;

/** True for a `bytes32` hex twin id (`0x` + 64 hex digits, any case). */
export function isTwinId(value: unknown): value is string {
  return typeof value === "string" && /^0x[0-9a-fA-F]{64}$/.test(value);
}

/**
 * The canonical bytes of a record context, used as AES-GCM associated data:
 * `domain (28 bytes ASCII) ‖ twinId (32) ‖ category (uint32 BE) ‖ keyLength (uint16 BE) ‖ recordKey (UTF-8)`.
 * The twin id is case-insensitive (it is decoded to its 32 bytes).
 */
export function encodeRecordContext(context: RecordContext): Uint8Array {
  const { twinId, recordKey, category } = context;
  if (!isTwinId(twinId)) throw new CryptoError("CRYPTO_CONTEXT_INVALID", "twinId must be a bytes32 hex string");
  if (!Number.isInteger(category) || category < 0 || category > 0xffffffff) {
    throw new CryptoError("CRYPTO_CONTEXT_INVALID", "category must be a uint32");
  }
  if (typeof recordKey !== "string" || recordKey.length === 0) {
    throw new CryptoError("CRYPTO_CONTEXT_INVALID", "recordKey must be a non-empty string");
  }
  const key = new TextEncoder().encode(recordKey);
  if (key.length > MAX_RECORD_KEY_BYTES) {
    throw new CryptoError(
      "CRYPTO_CONTEXT_INVALID",
      `recordKey is ${key.length} bytes, at most ${MAX_RECORD_KEY_BYTES}`,
    );
  }
  const out = new Uint8Array(DOMAIN_BYTES.length + 32 + 4 + 2 + key.length);
  const dv = new DataView(out.buffer);
  let at = 0;
  out.set(DOMAIN_BYTES, at);
  at += DOMAIN_BYTES.length;
  out.set(Buffer.from(twinId.slice(2), "hex"), at);
  at += 32;
  dv.setUint32(at, category);
  at += 4;
  dv.setUint16(at, key.length);
  at += 2;
  out.set(key, at);
  return out;
}
