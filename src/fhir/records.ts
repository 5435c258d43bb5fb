import type { Resource } from "@medplum/fhirtypes";
import type { DataCategoryBit } from "../vocabulary";

/**
 * The normalized shapes that ingest produces and the twin engine, the store and the gateway
 * consume. A record keeps the validated FHIR resource it came from, so that an export can
 * give it back unchanged; the rest are the fields the twin reasons over.
 */

/** What the twin models; every other resource type is skipped and counted. */
export type RecordKind =
  | "demographics"
  | "condition"
  | "medication"
  | "allergy"
  | "procedure"
  | "immunization"
  | "encounter"
  | "lab"
  | "vital"
  | "diagnostic-report"
  /** A Medication resource: the product a MedicationRequest/Statement refers to (its name and code). */
  | "medication-product"
  | "family-history"
  /** A DocumentReference: a clinical note or scan, its attachment data sealed with it, never fetched. */
  | "document"
  /** A Claim or ExplanationOfBenefit. */
  | "claim"
  | "coverage";

/** One EMR record: a validated FHIR resource, its data category and its clinical time. */
export interface TwinRecord {
  /** `ResourceType/id`, unique within a twin. */
  readonly key: string;
  readonly kind: RecordKind;
  /** The consent category this record falls under (one bit of the on-chain mask). */
  readonly category: DataCategoryBit;
  /** Clinical time of the record (onset, effective, period start, authoredOn), ISO 8601, if any. */
  readonly effectiveAt?: string;
  /** Display text of the main code (SNOMED CT, RxNorm, LOINC), if any. */
  readonly display?: string;
  /** The main code as `system|code`, if any. */
  readonly code?: string;
  /** Status as FHIR gives it (clinicalStatus code, status), if any. */
  readonly status?: string;
  readonly resource: Resource;
  /**
   * A DiagnosticReport's results as record keys (`Observation/<id>`), in the report's order,
   * taken from its `result` references (a contained result is `Observation/<reportId>.<id>`,
   * itself a record). They may name records of other ingests; the twin resolves them.
   */
  readonly results?: readonly string[];
  /**
   * Content digest (`sha256:` and 64 hex digits) over the resource without `meta.versionId` and
   * `meta.lastUpdated`, and the derived fields: equal digests under one key mean an unchanged
   * record (see `recordContentDigest` and `planReingest`). Set by ingest.
   */
  readonly digest?: string;
}

/** The vital signs the twin follows, keyed by their LOINC codes. */
export const VitalSign = {
  heartRate: "8867-4",
  oxygenSaturation: "59408-5",
  steps: "55423-8",
  bloodPressure: "85354-9",
  systolic: "8480-6",
  diastolic: "8462-4",
  bodyTemperature: "8310-5",
  glucose: "2339-0",
  respiratoryRate: "9279-1",
  bodyWeight: "29463-7",
  bodyHeight: "8302-2",
  bmi: "39156-5",
  headCircumference: "9843-4",
} as const;
export type VitalSignName = keyof typeof VitalSign;

/** One measurement, from a wearable (PHR) or taken in care (EMR), in UCUM units. */
export interface VitalReading {
  readonly sign: VitalSignName;
  readonly value: number;
  /** UCUM unit code, e.g. `/min`, `%`, `mm[Hg]`, `Cel`, `mg/dL`. */
  readonly unit: string;
  /** Time of the measurement in milliseconds since the epoch. */
  readonly at: number;
  /** The device or system that produced it (Observation.device reference or a source id). */
  readonly source?: string;
  /**
   * The consent category of the record the reading came from: `VITALS` (taken in care), `LABS`
   * (a laboratory glucose) or `WEARABLE_STREAMS` (device or PHR). Set by ingest.
   */
  readonly category?: DataCategoryBit;
  /** The `key` of the TwinRecord the reading came from. Set by ingest. */
  readonly recordKey?: string;
}

/** Something ingest accepted but that a reviewer should know about (never a health value). */
export interface IngestWarning {
  /** Where, e.g. `Bundle.entry[3].resource.valueQuantity.unit`. */
  readonly path: string;
  /** What, naming the record (`Observation/x`) but never a value. */
  readonly message: string;
}

/** What one ingest produced: the records and readings it modelled, and what it skipped. */
export interface IngestResult {
  readonly records: TwinRecord[];
  readonly readings: VitalReading[];
  /**
   * Resources of types the twin does not model, counted by resource type; resources of a modelled
   * type that carry no twin data are counted under a label such as `Observation(cancelled)`.
   */
  readonly skipped: Record<string, number>;
  /** What was accepted but looked odd (e.g. a malformed unit display); never health values. */
  readonly warnings?: readonly IngestWarning[];
  /**
   * True when the export says it is incomplete: an OperationOutcome in it reports an error or a
   * fatal issue (a warning says so too).
   */
  readonly incomplete?: boolean;
  /** The patient every record's subject resolved to (`Patient/<id>` or a `urn:uuid:`), if any. */
  readonly patient?: string;
}
