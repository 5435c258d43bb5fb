import { TwinLedgerError } from "../errors";

/**
 * Stable codes of {@link PipelineError}.
 *
 * | code                          | meaning                                                                        |
 * | ----------------------------- | ------------------------------------------------------------------------------ |
 * | `TWIN_UNKNOWN`                | the service holds nothing for this twin                                        |
 * | `TWIN_ERASED`                 | the twin was erased: its keys are destroyed, its data can no longer be read     |
 * | `TWIN_NOT_ACTIVE`             | the twin is not active on chain (unknown, suspended or erased): nothing ingested |
 * | `TWIN_NOT_ERASED_ON_CHAIN`    | `erase` was called before the registry marked the twin Erased                   |
 * | `SOURCE_NOT_AUTHORIZED`       | the signer may not write some category of the input on this twin               |
 * | `NOT_TWIN_CUSTODIAN`          | the custodian signer is not the twin's custodian on chain                      |
 * | `NO_DEVICE_SIGNER`            | a batch is due but no device signer is known to anchor it                      |
 * | `EMPTY_INPUT`                 | the input holds nothing the twin models                                         |
 * | `ANCHOR_FAILED`               | a transaction failed or its receipt lacks the expected event, or a journaled     |
 * |                               | anchor is still pending in the mempool after `anchorWaitMs` (see recovery.ts)   |
 * | `INDEX_CORRUPT`               | the persisted index is unreadable, or replaying it does not give the same twin  |
 * | `INVALID_OPTIONS`             | a constructor or call option is malformed                                       |
 * | `PATIENT_MISMATCH`            | an EMR ingest names another patient than the twin's earlier ingests            |
 */
export const PipelineErrorCode = {
  TWIN_UNKNOWN: "TWIN_UNKNOWN",
  TWIN_ERASED: "TWIN_ERASED",
  TWIN_NOT_ACTIVE: "TWIN_NOT_ACTIVE",
  TWIN_NOT_ERASED_ON_CHAIN: "TWIN_NOT_ERASED_ON_CHAIN",
  SOURCE_NOT_AUTHORIZED: "SOURCE_NOT_AUTHORIZED",
  NOT_TWIN_CUSTODIAN: "NOT_TWIN_CUSTODIAN",
  NO_DEVICE_SIGNER: "NO_DEVICE_SIGNER",
  EMPTY_INPUT: "EMPTY_INPUT",
  PATIENT_MISMATCH: "PATIENT_MISMATCH",
  ANCHOR_FAILED: "ANCHOR_FAILED",
  INDEX_CORRUPT: "INDEX_CORRUPT",
  INVALID_OPTIONS: "INVALID_OPTIONS",
} as const;
export type PipelineErrorCode = (typeof PipelineErrorCode)[keyof typeof PipelineErrorCode];

/** An error of the pipeline. Messages name twins, content ids, categories and counts, never health data or keys. */
export class PipelineError extends TwinLedgerError {
  declare readonly code: PipelineErrorCode;

  constructor(code: PipelineErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
