import { TwinLedgerError } from "../errors";

/**
 * Stable codes of {@link CryptoError}.
 *
 * | code                       | meaning                                                                  |
 * | -------------------------- | ------------------------------------------------------------------------ |
 * | `CRYPTO_FORMAT`            | bytes are not a well-formed envelope or wrapped key (magic, version, length, point) |
 * | `CRYPTO_DECRYPT`           | authentication failed: wrong key, wrong context or tampered bytes        |
 * | `CRYPTO_KEY_INVALID`       | a private key, public key or data key has the wrong shape or is off the curve |
 * | `CRYPTO_SIGNATURE_INVALID` | no public key can be recovered from the signature                        |
 * | `CRYPTO_CONTEXT_INVALID`   | the record context (twin id, record key, category) is malformed          |
 */
export const CryptoErrorCode = {
  FORMAT: "CRYPTO_FORMAT",
  DECRYPT: "CRYPTO_DECRYPT",
  KEY_INVALID: "CRYPTO_KEY_INVALID",
  SIGNATURE_INVALID: "CRYPTO_SIGNATURE_INVALID",
  CONTEXT_INVALID: "CRYPTO_CONTEXT_INVALID",
} as const;
export type CryptoErrorCode = (typeof CryptoErrorCode)[keyof typeof CryptoErrorCode];

/** An error of the crypto module. Messages describe shapes and lengths, never key material or plaintext. */
export class CryptoError extends TwinLedgerError {
  declare readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
