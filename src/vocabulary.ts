/**
 * The vocabulary shared with the contracts (contracts/Common.sol): data categories, actions
 * and purposes as bitmasks, twin status and source kinds. test/src/vocabulary.test.ts holds
 * these values equal to the Solidity constants.
 */

/** Data categories, one bit each (`uint32` on chain). */
export const DataCategory = {
  DEMOGRAPHICS: 1 << 0,
  CONDITIONS: 1 << 1,
  MEDICATIONS: 1 << 2,
  ALLERGIES: 1 << 3,
  PROCEDURES: 1 << 4,
  ENCOUNTERS: 1 << 5,
  LABS: 1 << 6,
  VITALS: 1 << 7,
  WEARABLE_STREAMS: 1 << 8,
  IMAGING: 1 << 9,
  GENOMICS: 1 << 10,
  MENTAL_HEALTH: 1 << 11,
  TWIN_MODEL: 1 << 12,
  COVERAGE: 1 << 13,
} as const;
export type DataCategoryName = keyof typeof DataCategory;
/** One category bit. */
export type DataCategoryBit = (typeof DataCategory)[DataCategoryName];
export const ALL_CATEGORIES = (1 << 14) - 1;

/** Actions a grantee may take (`uint8` on chain). */
export const Action = {
  READ: 1 << 0,
  AGGREGATE: 1 << 1,
  WRITE: 1 << 2,
  SHARE: 1 << 3,
} as const;
export type ActionName = keyof typeof Action;
export const ALL_ACTIONS = (1 << 4) - 1;

/** Purposes of use (`uint16` on chain). */
export const Purpose = {
  TREATMENT: 1 << 0,
  RESEARCH: 1 << 1,
  INSURANCE_CLAIM: 1 << 2,
  EMERGENCY: 1 << 3,
  PUBLIC_HEALTH: 1 << 4,
  CARE_COORDINATION: 1 << 5,
  CLINICAL_TRIAL: 1 << 6,
  DEVICE_MONITORING: 1 << 7,
  PERSONAL_USE: 1 << 8,
  AUDIT: 1 << 9,
} as const;
export type PurposeName = keyof typeof Purpose;
export const ALL_PURPOSES = (1 << 10) - 1;

/** Lifecycle of a twin (the `TwinStatus` enum). */
export enum TwinStatus {
  None = 0,
  Active = 1,
  Suspended = 2,
  Erased = 3,
}

/** The answer of `ConsentPolicy.checkAccess` (`IConsentPolicy.AccessDecision`), in the contract's order. */
export enum AccessDecision {
  Allowed = 0,
  UnknownTwin = 1,
  TwinSuspended = 2,
  TwinErased = 3,
  NoConsent = 4,
  NotYetValid = 5,
  Expired = 6,
  Revoked = 7,
  CategoryNotGranted = 8,
  ActionNotGranted = 9,
  PurposeNotGranted = 10,
  /** The account is blocked on the twin and holds no grant (v2). */
  Blocked = 11,
}

/** Kinds of data source (the `SourceKind` enum). */
export enum SourceKind {
  None = 0,
  Emr = 1,
  Device = 2,
  App = 3,
  Lab = 4,
}

/** Combine names into a mask, e.g. `mask(DataCategory, ["VITALS", "LABS"])`. */
export function mask<T extends Record<string, number>>(table: T, names: readonly (keyof T)[]): number {
  return names.reduce((acc, name) => acc | table[name], 0);
}

/** The names of the bits set in a mask, in table order. */
export function namesOf<T extends Record<string, number>>(table: T, bits: number): (keyof T)[] {
  return (Object.keys(table) as (keyof T)[]).filter((name) => (bits & table[name]) !== 0);
}
