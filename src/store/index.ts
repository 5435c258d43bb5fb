/**
 * Storage of encrypted records: blobs addressed by CIDv1 (raw, sha2-256) and verified on every
 * read, wrapped data keys per record and reader with erasure per twin, and a vault tying both
 * to the crypto module.
 */
export { StoreError, StoreErrorCode } from "./errors";
export { blobMatchesCid, cidOf, parseCid, verifyBlob } from "./cid";
export type { BlobStore } from "./blob-store";
export { MemoryBlobStore } from "./memory-blob-store";
export { LocalFolderBlobStore, type LocalFolderBlobStoreOptions } from "./local-folder-blob-store";
export type { ErasureReceipt, KeyStore, WrappedKeyEntry, WrappedKeyRef } from "./key-store";
export { MemoryKeyStore } from "./memory-key-store";
export { FolderKeyStore, type FolderKeyStoreOptions } from "./folder-key-store";
export { grantReaderKeys, revokeReaderKeys, type ReaderGrant, type ReaderGrantResult } from "./reader-grants";
export { RecordVault, type RecordToSeal, type StoredRecord, type VaultErasure } from "./record-vault";
export { exportCar, importCar, type CarExport, type CarImportOptions } from "./car";
