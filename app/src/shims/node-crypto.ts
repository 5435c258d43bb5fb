/**
 * The part of node:crypto the shared modules use on the read side, for the browser: SHA-256 (content ids, digests)
 * by @noble/hashes, random bytes by WebCrypto. Encryption (envelopes, key wrapping, ECDH) stays on the server: the
 * app never decrypts, and those functions throw.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

class Digest {
  private readonly chunks: Uint8Array[] = [];
  update(data: Uint8Array | string): this {
    this.chunks.push(typeof data === "string" ? new TextEncoder().encode(data) : data);
    return this;
  }
  digest(): Uint8Array;
  digest(encoding: "hex"): string;
  digest(encoding?: "hex"): Uint8Array | string {
    const hash = sha256.create();
    for (const chunk of this.chunks) hash.update(chunk);
    const out = hash.digest();
    return encoding === "hex" ? bytesToHex(out) : out;
  }
}

export function createHash(algorithm: string): Digest {
  if (algorithm !== "sha256") throw new Error(`hash ${algorithm} is not available in the browser`);
  return new Digest();
}

export function randomFillSync<T extends Uint8Array>(buffer: T): T {
  return globalThis.crypto.getRandomValues(buffer);
}

export function randomBytes(size: number): Uint8Array & { toString(encoding?: string): string } {
  const bytes = randomFillSync(new Uint8Array(size));
  return Object.assign(bytes, { toString: () => bytesToHex(bytes) });
}

export function getCurves(): string[] {
  return [];
}

function serverOnly(): never {
  throw new Error("encryption is not available in the browser");
}
export const createCipheriv = serverOnly;
export const createDecipheriv = serverOnly;
export const createHmac = serverOnly;
export const createECDH = serverOnly;
export const hkdfSync = serverOnly;
export default { createHash, randomBytes, randomFillSync, getCurves };
