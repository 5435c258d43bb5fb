/**
 * The one base class for TwinLedger's off-chain errors. Every error has a stable `code` that
 * callers switch on, and a message that describes the offending value (a path, a resource
 * type, a length) but never secret material or health data.
 */
export class TwinLedgerError extends Error {
  constructor(
    /** Stable machine-readable code, e.g. `FHIR_INVALID`, `BLOB_TAMPERED`. */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
