import { TwinLedgerError } from "../errors";

/**
 * Stable codes of {@link StoreError}.
 *
 * | code              | meaning                                                                 |
 * | ----------------- | ----------------------------------------------------------------------- |
 * | `CID_INVALID`     | not a CIDv1 / raw / sha2-256 / base32 content id                         |
 * | `BLOB_NOT_FOUND`  | no blob is stored under this content id                                  |
 * | `BLOB_TAMPERED`   | the stored bytes no longer hash to their content id; they are refused    |
 * | `TWIN_ID_INVALID` | a twin id is not a `bytes32` hex string                                  |
 * | `ADDRESS_INVALID` | a reader address is not an Ethereum address                              |
 * | `KEY_NOT_FOUND`   | no wrapped key for this record and reader                                |
 * | `TWIN_ERASED`     | the twin was erased: its wrapped keys are destroyed and no new ones are accepted |
 * | `STORE_IO`        | the backing folder failed (permissions, disk full); `cause` has the detail |
 * | `CAR_INVALID`     | a CAR file to import is unreadable, or holds a block that is not a valid blob |
 */
export const StoreErrorCode = {
  CID_INVALID: "CID_INVALID",
  BLOB_NOT_FOUND: "BLOB_NOT_FOUND",
  BLOB_TAMPERED: "BLOB_TAMPERED",
  TWIN_ID_INVALID: "TWIN_ID_INVALID",
  ADDRESS_INVALID: "ADDRESS_INVALID",
  KEY_NOT_FOUND: "KEY_NOT_FOUND",
  TWIN_ERASED: "TWIN_ERASED",
  STORE_IO: "STORE_IO",
  CAR_INVALID: "CAR_INVALID",
} as const;
export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

/** An error of the store module. Messages name content ids, twin ids and addresses, never key bytes. */
export class StoreError extends TwinLedgerError {
  declare readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
