/**
 * TwinLedger as a typed library. Each concept is its own module, importable as a namespace from here
 * or by its subpath (`twinledger/fhir`, `twinledger/service`, ...; see package.json "exports").
 */
export * as chain from "./chain";
export * as crypto from "./crypto";
export * as fhir from "./fhir";
export * as indexer from "./indexer";
export * as pipeline from "./pipeline";
export * as service from "./service";
export * as store from "./store";
export * as twin from "./twin";
export * from "./vocabulary";
export { TwinLedgerError } from "./errors";
export { decodeError, diagnoseGrantSignature, type DecodedError } from "./chain/decode-error";
