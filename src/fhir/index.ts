/**
 * The FHIR module: FHIR R4 in (EMR bundles, wearable Observations) to TwinRecords and
 * VitalReadings, Consent to and from on-chain grants, Bundles out, and a synthetic cohort.
 */
export { ingest, ingestBundle, ingestResource, ingestWearable, parseFhirJson, type IngestOptions } from "./ingest";
export type { Origin } from "./classify";
export { FhirConsentError, FhirValidationError } from "./errors";
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
export { System, VITAL_SIGN_CODES } from "./codes";
export { VitalSign } from "./records";
export type { IngestResult, IngestWarning, RecordKind, TwinRecord, VitalReading, VitalSignName } from "./records";
export {
  COHORT_FORMAT,
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
