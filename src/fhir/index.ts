/**
 * The FHIR module: FHIR R4 in (EMR bundles, wearable Observations) to TwinRecords and
 * VitalReadings, Consent to and from on-chain grants, Bundles out, and a synthetic cohort.
 */
export { ingest, ingestBundle, ingestResource, ingestWearable, parseFhirJson, type IngestOptions } from "./ingest";
export { ingestStream, parseFhirStream, type JsonSource } from "./stream";
export {
  ingestNdjson,
  ingestNdjsonStream,
  type NdjsonIngestResult,
  type NdjsonOptions,
  type RejectedLine,
} from "./ndjson";
export { DEFAULT_LIMITS, resolveLimits, type IngestLimits } from "./limits";
export { planReingest, recordContentDigest, type ReingestPlan } from "./digest";
export { rebuildRecord, type RebuildOptions } from "./rebuild";
export { displayOf, isPlaceholderText } from "./names";
export type { Origin } from "./classify";
export {
  FhirConsentError,
  FhirLimitError,
  FhirValidationError,
  type FaultLocation,
  type FhirLimitName,
} from "./errors";
export {
  OPEN_ENDED_UNTIL,
  consentToGrant,
  grantToConsent,
  mapConsent,
  type ConsentGrant,
  type ConsentGrantee,
  type ConsentMappingOptions,
  type GrantSubject,
  type MappedConsent,
} from "./consent";
export { exportBundle, type ExportOptions } from "./export";
export { SIGN_UNITS, toCanonical } from "./units";
export { MDC_SIGN_CODES, System, VITAL_SIGN_CODES } from "./codes";
export { VitalSign } from "./records";
export type { IngestResult, IngestWarning, RecordKind, TwinRecord, VitalReading, VitalSignName } from "./records";
export {
  COHORT_FORMAT,
  cohortPatient,
  cohortPatients,
  cohortToJson,
  emrBundle,
  generateCohort,
  planPatient,
  resolveCohortOptions,
  wearableBundle,
  wearableDevice,
  wearableObservations,
  type Cohort,
  type CohortEpisode,
  type CohortOptions,
  type CohortPatient,
  type ConditionName,
  type PatientPlan,
  type ResolvedCohortOptions,
} from "./cohort";
