import { createCipheriv, createDecipheriv, randomFillSync } from "node:crypto";
import { LRUCache } from "lru-cache";
import { bytesToHex, plain, wipe } from "./bytes";
import { DATA_KEY_BYTES, TAG_BYTES } from "./envelope";
import { ECDH, randomSecret, type EcdhBackend } from "./ecdh";
import { CryptoError } from "./errors";
import {
  HEADER_BYTES,
  HEADER_V2,
  parseWrappedKey,
  PREFIX_BYTES_V1,
  PREFIX_BYTES_V2,
  WRAP_SALT_BYTES,
  WrapKeyDeriver,
  WRAPPED_KEY_BYTES,
  WRAPPED_KEY_VERSION,
} from "./key-wrap-format";
import { addressOf, privateKeyBytes, publicKeyOf, type PrivateKeyLike, type PublicKeyLike } from "./reader-keys";
import { readerPoint, type ReaderPoint } from "./reader-point-cache";

export {
  parseWrappedKey,
  WRAP_INFO,
  WRAP_INFO_V2,
  WRAP_SALT_BYTES,
  WRAPPED_KEY_BYTES,
  WRAPPED_KEY_MAGIC,
  WRAPPED_KEY_SUITE_SECP256K1_HKDF_SHA256_AES_256_GCM,
  WRAPPED_KEY_V1_BYTES,
  WRAPPED_KEY_VERSION,
  WRAPPED_KEY_VERSION_1,
  type ParsedWrappedKey,
} from "./key-wrap-format";

/**
 * Wrapping and unwrapping data keys (formats in key-wrap-format.ts).
 *
 * Cost: a {@link KeyWrapper} does the two scalar multiplications `e·G` and `e·R` once, on libsecp256k1 (about
 * 0.12 ms together) or, where it does not load, `e·G` on OpenSSL and `e·R` on noble with a per-reader precomputed
 * table (reader-point-cache.ts), and HKDF's extract step once (key-wrap-format.ts, `WrapKeyDeriver`); each wrap
 * then costs HKDF's expand step (two HMAC-SHA256 on noble) and one AES-GCM on OpenSSL, some tens of µs. A
 * {@link KeyUnwrapper} does `d·E` once per ephemeral key it meets (ecdh.ts), so opening a version-2 batch costs one
 * multiplication, not one per record.
 */

/**
 * Wraps data keys to one reader under one ephemeral key (format version 2): a batch's wrapper. Create it with
 * {@link keyWrapper}, use it for one batch of one twin, then {@link KeyWrapper.dispose} it (which wipes the key
 * derivation state it holds; the ephemeral secret and `x(e·R)` are wiped as soon as it is built).
 */
export class KeyWrapper {
  /** Checksummed address of the reader. */
  readonly reader: string;
  readonly #readerKey: Uint8Array;
  readonly #ephemeral: Uint8Array;
  #deriver: WrapKeyDeriver | undefined;
  /** Random bytes for the salts, drawn in blocks (one system call per block, not per wrap). */
  readonly #salts = new Uint8Array(WRAP_SALT_BYTES * SALTS_PER_DRAW);
  #nextSalt = SALTS_PER_DRAW;

  /**
   * @internal Use {@link keyWrapper}; tests pass a decoded reader and an explicit backend.
   * @param backend The secp256k1 backend (ecdh.ts); callers keep the default.
   */
  constructor(reader: ReaderPoint, backend: Pick<EcdhBackend, "ephemeralPublicKey" | "senderSharedX"> = ECDH) {
    const ephemeralSecret = randomSecret();
    let sharedX: Uint8Array;
    try {
      this.#ephemeral = backend.ephemeralPublicKey(ephemeralSecret);
      sharedX = backend.senderSharedX(ephemeralSecret, reader);
    } finally {
      wipe(ephemeralSecret);
    }
    this.#deriver = new WrapKeyDeriver(sharedX);
    wipe(sharedX);
    this.reader = reader.address;
    this.#readerKey = reader.compressed;
  }

  /** Wrap one 32-byte data key (103 bytes out, a fresh salt each time). Throws `CRYPTO_KEY_INVALID` for a bad key. */
  wrap(dataKey: Uint8Array): Uint8Array {
    if (!(dataKey instanceof Uint8Array) || dataKey.length !== DATA_KEY_BYTES) {
      throw new CryptoError("CRYPTO_KEY_INVALID", `data key must be ${DATA_KEY_BYTES} bytes`);
    }
    if (this.#deriver === undefined) throw new Error("KeyWrapper used after dispose()");
    const out = new Uint8Array(WRAPPED_KEY_BYTES);
    out.set(HEADER_V2, 0);
    out.set(this.#ephemeral, HEADER_BYTES);
    const salt = out.subarray(PREFIX_BYTES_V1, PREFIX_BYTES_V2);
    salt.set(this.#salt());
    const { key, nonce } = this.#deriver.derive(WRAPPED_KEY_VERSION, this.#ephemeral, this.#readerKey, salt);
    const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(out.subarray(0, PREFIX_BYTES_V2));
    const body = cipher.update(dataKey);
    cipher.final();
    wipe(key);
    out.set(body, PREFIX_BYTES_V2);
    out.set(cipher.getAuthTag(), PREFIX_BYTES_V2 + DATA_KEY_BYTES);
    return out;
  }

  /** Wipe the state derived from the shared secret; the wrapper cannot wrap afterwards. */
  dispose(): void {
    this.#deriver?.destroy();
    this.#deriver = undefined;
  }

  /** The next 16 fresh random bytes (salts are public, but each must be unique: a fresh draw, never reused). */
  #salt(): Uint8Array {
    if (this.#nextSalt === SALTS_PER_DRAW) {
      randomFillSync(this.#salts);
      this.#nextSalt = 0;
    }
    const at = WRAP_SALT_BYTES * this.#nextSalt++;
    return this.#salts.subarray(at, at + WRAP_SALT_BYTES);
  }
}

/** Salts drawn per `randomFillSync` call. */
const SALTS_PER_DRAW = 256;

/** A {@link KeyWrapper} to a reader's public key; throws `CRYPTO_KEY_INVALID` when it is not a point. */
export function keyWrapper(readerPublicKey: PublicKeyLike): KeyWrapper {
  return new KeyWrapper(readerPoint(readerPublicKey));
}

/** Wrap a 32-byte data key to one reader's public key (format version 2, its own ephemeral key). */
export function wrapDataKey(dataKey: Uint8Array, readerPublicKey: PublicKeyLike): Uint8Array {
  return wrapDataKeys([dataKey], readerPublicKey)[0];
}

/** Wrap a batch of data keys to one reader under one ephemeral key (format version 2), in order. */
export function wrapDataKeys(dataKeys: readonly Uint8Array[], readerPublicKey: PublicKeyLike): Uint8Array[] {
  const wrapper = keyWrapper(readerPublicKey);
  try {
    return dataKeys.map((dataKey) => wrapper.wrap(dataKey));
  } finally {
    wrapper.dispose();
  }
}

/** @internal One wrap with a decoded reader and an explicit secp256k1 backend (ecdh.ts), for tests. */
export function wrapToReader(
  dataKey: Uint8Array,
  reader: ReaderPoint,
  backend: Pick<EcdhBackend, "ephemeralPublicKey" | "senderSharedX"> = ECDH,
): Uint8Array {
  const wrapper = new KeyWrapper(reader, backend);
  try {
    return wrapper.wrap(dataKey);
  } finally {
    wrapper.dispose();
  }
}

/** Ephemeral keys whose shared secret a {@link KeyUnwrapper} keeps (a bulk open meets one per batch). */
const UNWRAP_CACHE_SIZE = 16;

/**
 * Unwraps data keys with one reader's private key, both format versions, keeping the key derivation from `x(d·E)`
 * for the last few version-2 ephemeral keys so that a batch costs one scalar multiplication. Create one for a bulk open, then
 * {@link KeyUnwrapper.dispose} it (which wipes its copy of the private key and the cached secrets).
 */
export class KeyUnwrapper {
  /** Checksummed address of the reader whose key this is. */
  readonly reader: string;
  readonly #secret: Uint8Array;
  readonly #backend: Pick<EcdhBackend, "readerEcdh">;
  readonly #derivers = new LRUCache<string, WrapKeyDeriver>({
    max: UNWRAP_CACHE_SIZE,
    dispose: (deriver) => deriver.destroy(),
  });
  #readerKey: Uint8Array | undefined;
  #disposed = false;

  /**
   * Throws `CRYPTO_KEY_INVALID` for a malformed private key.
   * @param backend The secp256k1 backend (ecdh.ts); tests pass one explicitly, callers keep the default.
   */
  constructor(readerPrivateKey: PrivateKeyLike, backend: Pick<EcdhBackend, "readerEcdh"> = ECDH) {
    this.#secret = privateKeyBytes(readerPrivateKey);
    this.#backend = backend;
    this.reader = addressOf(publicKeyOf(this.#secret));
  }

  /**
   * The data key of a wrapped key (version 1 or 2). Throws `CRYPTO_FORMAT` for malformed bytes and `CRYPTO_DECRYPT`
   * when the key was wrapped to someone else or the bytes were tampered with.
   */
  unwrap(wrapped: Uint8Array): Uint8Array {
    const parsed = parseWrappedKey(wrapped);
    if (this.#disposed) throw new Error("KeyUnwrapper used after dispose()");
    const cacheable = parsed.version === WRAPPED_KEY_VERSION;
    const id = cacheable ? bytesToHex(parsed.ephemeralPublicKey) : "";
    let deriver = cacheable ? this.#derivers.get(id) : undefined;
    if (deriver === undefined || this.#readerKey === undefined) {
      const { sharedX, readerPublicKey } = this.#backend.readerEcdh(this.#secret, parsed.ephemeralPublicKey);
      deriver = new WrapKeyDeriver(sharedX);
      wipe(sharedX);
      this.#readerKey ??= readerPublicKey;
      if (cacheable) this.#derivers.set(id, deriver);
    }
    const { key, nonce } = deriver.derive(parsed.version, parsed.ephemeralPublicKey, this.#readerKey, parsed.salt);
    if (!cacheable) deriver.destroy();
    const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(parsed.tag);
    decipher.setAAD(parsed.associatedData);
    const body = decipher.update(parsed.encryptedKey);
    wipe(key);
    try {
      decipher.final();
    } catch (cause) {
      wipe(body);
      throw new CryptoError("CRYPTO_DECRYPT", "wrapped key does not open with this key (other reader or tampered)", {
        cause,
      });
    }
    return plain(body);
  }

  /** Wipe the private key copy and the cached shared secrets; the unwrapper cannot unwrap afterwards. */
  dispose(): void {
    wipe(this.#secret);
    this.#derivers.clear();
    this.#disposed = true;
  }
}

/**
 * Unwrap a data key (format version 1 or 2) with the reader's private key. Throws `CRYPTO_FORMAT` for malformed
 * bytes and `CRYPTO_DECRYPT` when the key was wrapped to someone else or the bytes were tampered with. To open many
 * keys, a {@link KeyUnwrapper} is faster.
 */
export function unwrapDataKey(wrapped: Uint8Array, readerPrivateKey: PrivateKeyLike): Uint8Array {
  return unwrapDataKeyWith(wrapped, readerPrivateKey, ECDH);
}

/** @internal {@link unwrapDataKey} with an explicit secp256k1 backend (ecdh.ts), for tests. */
export function unwrapDataKeyWith(
  wrapped: Uint8Array,
  readerPrivateKey: PrivateKeyLike,
  backend: Pick<EcdhBackend, "readerEcdh">,
): Uint8Array {
  parseWrappedKey(wrapped); // a malformed wrap fails as such before the key is looked at
  const unwrapper = new KeyUnwrapper(readerPrivateKey, backend);
  try {
    return unwrapper.unwrap(wrapped);
  } finally {
    unwrapper.dispose();
  }
}
