import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { concatBytes, plain, wipe } from "./bytes";
import { CryptoError } from "./errors";
import { encodeRecordContext, type RecordContext } from "./record-context";

/**
 * Record envelope, format version 1: one record encrypted with AES-256-GCM under its own
 * random data key.
 *
 * | offset   | size | field                                      |
 * | -------- | ---- | ------------------------------------------ |
 * | 0        | 4    | magic `TLRE` (0x54 0x4c 0x52 0x45)          |
 * | 4        | 1    | format version, `0x01`                     |
 * | 5        | 1    | suite, `0x01` = AES-256-GCM, 96-bit nonce, 128-bit tag |
 * | 6        | 12   | nonce (random)                             |
 * | 18       | n    | ciphertext (same length as the plaintext)  |
 * | 18 + n   | 16   | GCM tag                                    |
 *
 * The GCM associated data is `header (bytes 0..5) ‖ context`, where the context is the
 * encoded {@link RecordContext} (or caller-supplied bytes). The context is not stored in the
 * envelope: the reader supplies the context it expects, and a mismatch fails authentication.
 *
 * @dev AES-GCM runs on Node's OpenSSL (AES-NI), an order of magnitude faster than JS here.
 * A fresh key per record makes the random 96-bit nonce safe: each key encrypts one message.
 */
export const ENVELOPE_MAGIC = Uint8Array.of(0x54, 0x4c, 0x52, 0x45);
export const ENVELOPE_VERSION = 1;
export const ENVELOPE_SUITE_AES_256_GCM = 1;
export const DATA_KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
const HEADER_BYTES = 6;
/** Bytes an envelope adds to its plaintext: header, nonce and tag. */
export const ENVELOPE_OVERHEAD = HEADER_BYTES + NONCE_BYTES + TAG_BYTES;
const HEADER = Uint8Array.of(...ENVELOPE_MAGIC, ENVELOPE_VERSION, ENVELOPE_SUITE_AES_256_GCM);

/** The associated data an envelope is bound to: a record context or raw bytes. */
export type AssociatedData = RecordContext | Uint8Array;

/** The parts of a well-formed envelope (views into the input). */
export interface ParsedEnvelope {
  readonly version: number;
  readonly suite: number;
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly tag: Uint8Array;
}

/** An envelope and the fresh data key that opens it. Wrap the key for each reader, then wipe it. */
export interface EncryptedEnvelope {
  readonly envelope: Uint8Array;
  readonly dataKey: Uint8Array;
}

/** Parse an envelope strictly; throws `CRYPTO_FORMAT` on a wrong magic, version, suite or length. */
export function parseEnvelope(envelope: Uint8Array): ParsedEnvelope {
  if (!(envelope instanceof Uint8Array)) throw new CryptoError("CRYPTO_FORMAT", "envelope must be bytes");
  if (envelope.length < ENVELOPE_OVERHEAD) {
    throw new CryptoError("CRYPTO_FORMAT", `envelope is ${envelope.length} bytes, at least ${ENVELOPE_OVERHEAD}`);
  }
  for (let i = 0; i < ENVELOPE_MAGIC.length; i++) {
    if (envelope[i] !== ENVELOPE_MAGIC[i]) throw new CryptoError("CRYPTO_FORMAT", "not a TwinLedger record envelope");
  }
  if (envelope[4] !== ENVELOPE_VERSION) {
    throw new CryptoError("CRYPTO_FORMAT", `unsupported envelope version ${envelope[4]}`);
  }
  if (envelope[5] !== ENVELOPE_SUITE_AES_256_GCM) {
    throw new CryptoError("CRYPTO_FORMAT", `unsupported envelope suite ${envelope[5]}`);
  }
  const tagAt = envelope.length - TAG_BYTES;
  return {
    version: envelope[4],
    suite: envelope[5],
    nonce: envelope.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES),
    ciphertext: envelope.subarray(HEADER_BYTES + NONCE_BYTES, tagAt),
    tag: envelope.subarray(tagAt),
  };
}

/** Encrypt one record under a fresh random data key, bound to its context. */
export function encryptEnvelope(plaintext: Uint8Array, context: AssociatedData): EncryptedEnvelope {
  if (!(plaintext instanceof Uint8Array)) throw new CryptoError("CRYPTO_FORMAT", "plaintext must be bytes");
  const aad = associatedData(context);
  const dataKey = plain(randomBytes(DATA_KEY_BYTES));
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", dataKey, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const envelope = new Uint8Array(ENVELOPE_OVERHEAD + plaintext.length);
  envelope.set(HEADER, 0);
  envelope.set(nonce, HEADER_BYTES);
  let at = HEADER_BYTES + NONCE_BYTES;
  const body = cipher.update(plaintext);
  envelope.set(body, at);
  at += body.length;
  const rest = cipher.final();
  envelope.set(rest, at);
  at += rest.length;
  envelope.set(cipher.getAuthTag(), at);
  return { envelope, dataKey };
}

/**
 * Decrypt an envelope with its data key under the context it was sealed for.
 * Throws `CRYPTO_FORMAT` for malformed bytes, `CRYPTO_KEY_INVALID` for a key that is not
 * 32 bytes, and `CRYPTO_DECRYPT` when authentication fails (wrong key or context, tampering).
 */
export function decryptEnvelope(envelope: Uint8Array, dataKey: Uint8Array, context: AssociatedData): Uint8Array {
  const { nonce, ciphertext, tag } = parseEnvelope(envelope);
  if (!(dataKey instanceof Uint8Array) || dataKey.length !== DATA_KEY_BYTES) {
    throw new CryptoError("CRYPTO_KEY_INVALID", `data key must be ${DATA_KEY_BYTES} bytes`);
  }
  const aad = associatedData(context);
  const decipher = createDecipheriv("aes-256-gcm", dataKey, nonce, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(tag);
  decipher.setAAD(aad);
  const body = decipher.update(ciphertext);
  try {
    const rest = decipher.final();
    return rest.length === 0 ? plain(body) : concatBytes(body, rest);
  } catch (cause) {
    wipe(body); // unauthenticated plaintext never leaves this function
    throw new CryptoError("CRYPTO_DECRYPT", "envelope does not authenticate (wrong key, wrong context or tampered)", {
      cause,
    });
  }
}

function associatedData(context: AssociatedData): Uint8Array {
  const bytes = context instanceof Uint8Array ? context : encodeRecordContext(context);
  return concatBytes(HEADER, bytes);
}
