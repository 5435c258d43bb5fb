/**
 * Envelope encryption of health records: AES-256-GCM per record under a fresh data key bound
 * to its context, the data key wrapped per reader with ECIES on secp256k1 (Ethereum keys), and
 * the content hash anchored on chain.
 */
export { CryptoError, CryptoErrorCode } from "./errors";
export { contentHash } from "./content-hash";
export { encodeRecordContext, isTwinId, RECORD_CONTEXT_DOMAIN, type RecordContext } from "./record-context";
export {
  DATA_KEY_BYTES,
  decryptEnvelope,
  encryptEnvelope,
  ENVELOPE_MAGIC,
  ENVELOPE_OVERHEAD,
  ENVELOPE_SUITE_AES_256_GCM,
  ENVELOPE_VERSION,
  NONCE_BYTES,
  parseEnvelope,
  TAG_BYTES,
  type AssociatedData,
  type EncryptedEnvelope,
  type ParsedEnvelope,
} from "./envelope";
export {
  KeyUnwrapper,
  keyWrapper,
  KeyWrapper,
  parseWrappedKey,
  unwrapDataKey,
  wrapDataKey,
  wrapDataKeys,
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
} from "./key-wrap";
export { keccak256, keccakBackend, keccakReady, type KeccakBackend } from "./keccak";
export {
  addressOf,
  normalizePublicKey,
  privateKeyBytes,
  publicKeyFromDigest,
  publicKeyFromSignature,
  publicKeyOf,
  type PrivateKeyLike,
  type PublicKeyLike,
} from "./reader-keys";
export {
  openRecord,
  sealRecord,
  sealRecords,
  type ReaderWrappedKey,
  type RecordToSeal,
  type SealedRecord,
} from "./sealed-record";
export {
  pad,
  paddedLength,
  padmeLength,
  padTo,
  PADDING_MARKER,
  powerOfTwoLength,
  unpad,
  type PaddingScheme,
} from "./padding";
