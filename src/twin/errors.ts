import { TwinLedgerError } from "../errors";

/**
 * The twin engine's error codes.
 *
 * | code                      | raised when                                                           |
 * | ------------------------- | --------------------------------------------------------------------- |
 * | `TWIN_INVALID_READING`    | a reading has an unknown sign, a non-finite value or a bad timestamp   |
 * | `TWIN_UNSUPPORTED_UNIT`   | a reading's unit is neither the sign's canonical unit nor convertible  |
 * | `TWIN_INVALID_RECORD`     | a record has no key, an unknown kind or no resource                    |
 * | `TWIN_INVALID_SOURCE_HASH`| a source content hash is not a 0x-prefixed 32-byte hex string          |
 * | `TWIN_SOURCE_NOT_FOUND`   | a proof is asked for a source hash that did not feed the version       |
 * | `TWIN_INVALID_OPTIONS`    | an engine option (threshold table, window, baseline) is malformed      |
 * | `TWIN_INVALID_QUERY`      | a view is asked for an unknown sign or an empty time range             |
 * | `TWIN_NOT_CANONICAL`      | a value cannot be put in canonical form (NaN, Infinity, a function)    |
 * | `TWIN_NOT_COMMITTABLE`    | a version the contract would refuse (version 0, no source hashes)      |
 */
export type TwinErrorCode =
  | "TWIN_INVALID_READING"
  | "TWIN_UNSUPPORTED_UNIT"
  | "TWIN_INVALID_RECORD"
  | "TWIN_INVALID_SOURCE_HASH"
  | "TWIN_SOURCE_NOT_FOUND"
  | "TWIN_INVALID_OPTIONS"
  | "TWIN_INVALID_QUERY"
  | "TWIN_NOT_CANONICAL"
  | "TWIN_NOT_COMMITTABLE";

/**
 * An error of the twin engine. Messages name the offending input by position, field, sign or
 * unit; they never carry a measured value, a clinical code or an alert (those are health data).
 */
export class TwinEngineError extends TwinLedgerError {
  declare readonly code: TwinErrorCode;

  constructor(code: TwinErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
