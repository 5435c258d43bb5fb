import type { RecordKind, TwinRecord, VitalReading, VitalSignName } from "../fhir/records";
import type { DataCategoryBit } from "../vocabulary";
import type { AlertSeverity, Comparison } from "./config";

/** A 0x-prefixed, lower-case, 32-byte hex string (a keccak256 digest or a content hash). */
export type Bytes32 = string;

/** What one `apply` feeds the engine. */
export interface TwinBatch {
  readonly records?: readonly TwinRecord[];
  readonly readings?: readonly VitalReading[];
  /** Content hashes (bytes32) of the stored source blobs these records and readings came from. */
  readonly sourceHashes?: readonly string[];
}

/** Fields every clinical entry shares; times are the FHIR strings plus their epoch milliseconds. */
interface ClinicalEntry {
  /** The record key, `ResourceType/id`. */
  readonly key: string;
  readonly category: DataCategoryBit;
  readonly display?: string;
  /** `system|code`. */
  readonly code?: string;
  /** Status as FHIR gives it. */
  readonly status?: string;
}

/** `unknown` when the condition has no clinical status (it is then not listed as active). */
export type ProblemStatus = "active" | "resolved" | "unknown";

/** One entry of the problem list. */
export interface Problem extends ClinicalEntry {
  /**
   * `resolved` for clinicalStatus inactive, remission or resolved; `active` for active,
   * recurrence or relapse; `unknown` when there is none (ingest records it as `unknown`).
   */
  readonly state: ProblemStatus;
  readonly onset?: string;
  readonly onsetAt: number | null;
  readonly abatement?: string;
}

export interface Medication extends ClinicalEntry {
  /** True for status `active`, or when no status is given (safer to show than to hide). */
  readonly active: boolean;
  /** authoredOn / effective time. */
  readonly since?: string;
  readonly sinceAt: number | null;
}

export interface Allergy extends ClinicalEntry {
  /** True for clinicalStatus `active`, or when none is given. */
  readonly active: boolean;
  readonly criticality?: "low" | "high" | "unable-to-assess";
  readonly recorded?: string;
  readonly recordedAt: number | null;
}

export type TimelineKind =
  | "encounter"
  | "procedure"
  | "immunization"
  | "diagnostic-report"
  | "document"
  | "family-history"
  | "claim"
  | "coverage";

export interface TimelineEvent extends ClinicalEntry {
  readonly kind: TimelineKind;
  readonly start?: string;
  readonly startAt: number | null;
  readonly end?: string;
  /** A diagnostic report's results as record keys, in its order (see `reportResults` to resolve them). */
  readonly results?: readonly string[];
}

/** Descriptive statistics of a window; all but `count` are null for an empty window. */
export interface WindowStats {
  readonly count: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly mean: number | null;
  /** Sample standard deviation (divides by n − 1); 0 for a single reading. */
  readonly stddev: number | null;
  /** Median; the mean of the two middle values for an even count. */
  readonly p50: number | null;
}

export type TrendDirection = "rising" | "falling" | "stable" | "insufficient-data";

export interface Trend {
  /** Least-squares slope of value against time, in canonical units per hour. */
  readonly slopePerHour: number | null;
  readonly direction: TrendDirection;
  /** The |slope| at or below which the direction is `stable`. */
  readonly stableSlopePerHour: number;
}

export interface VitalWindow {
  readonly label: string;
  readonly durationMs: number;
  /** Exclusive start. */
  readonly from: number;
  /** Inclusive end (the model's `asOf`). */
  readonly to: number;
  readonly stats: WindowStats;
  readonly trend: Trend;
}

export interface LatestVital {
  readonly sign: VitalSignName;
  readonly value: number;
  readonly unit: string;
  readonly at: number;
  readonly source?: string;
}

export interface VitalSummary {
  readonly sign: VitalSignName;
  readonly unit: string;
  readonly count: number;
  readonly firstAt: number;
  readonly lastAt: number;
  readonly latest: LatestVital;
  readonly windows: readonly VitalWindow[];
}

export type AlertStatus = "open" | "resolved";

interface AlertBase {
  /** keccak256 of `twinledger/alert/v1|<rule>|<sign>|<startAt>`: stable while the episode grows. */
  readonly id: Bytes32;
  readonly rule: string;
  readonly sign: VitalSignName;
  readonly severity: AlertSeverity;
  /** `open` while the sign's latest reading still breaches. */
  readonly status: AlertStatus;
  readonly unit: string;
  /** First breaching reading of the episode. */
  readonly startAt: number;
  /** When the rule fired (later than startAt for sustained rules). */
  readonly triggeredAt: number;
  readonly lastBreachAt: number;
  /** First following reading that no longer breaches; null while open. */
  readonly endAt: number | null;
  /** Breaching readings in the episode and their range. */
  readonly readingCount: number;
  readonly min: number;
  readonly max: number;
}

export interface ThresholdAlert extends AlertBase {
  readonly kind: "threshold";
  readonly comparison: Comparison;
  readonly threshold: number;
  readonly sustainMs: number;
  /** The most extreme breaching value (max for > and ≥, min for < and ≤). */
  readonly worst: number;
}

export interface BaselineAlert extends AlertBase {
  readonly kind: "baseline";
  readonly direction: "above" | "below";
  readonly zThreshold: number;
  /** How long the deviation had to last (the sign's `baselineSustainMs`). */
  readonly sustainMs: number;
  /** The value with the largest |z| in the episode, its z-score and the baseline it was measured against. */
  readonly worst: number;
  readonly worstZ: number;
  readonly baselineMean: number;
  readonly baselineStdDev: number;
  readonly baselineCount: number;
  readonly baselineWindowMs: number;
}

/**
 * An alert. Alerts are health data: they live in the off-chain model only and must never be
 * logged or put on chain (only the state root that covers them is).
 */
export type TwinAlert = ThresholdAlert | BaselineAlert;

/** The derived patient model. */
export interface TwinModel {
  /** End of the statistics windows: the latest reading time unless given; null without readings. */
  readonly asOf: number | null;
  readonly problems: readonly Problem[];
  readonly medications: readonly Medication[];
  readonly allergies: readonly Allergy[];
  /** Encounters, procedures and immunizations by start time (undated last), then key. */
  readonly timeline: readonly TimelineEvent[];
  /** Effective records per kind (labs, reports and demographics are counted, not modelled). */
  readonly recordCounts: Readonly<Partial<Record<RecordKind, number>>>;
  readonly vitals: Readonly<Partial<Record<VitalSignName, VitalSummary>>>;
  /** By startAt, then rule, sign and id. */
  readonly alerts: readonly TwinAlert[];
}

/** What a device screen left out of a version's view (see `TwinEngine.setFlaggedDevices`). */
export interface SetAside {
  /** How many readings were left out because the device they came from is flagged. */
  readonly flaggedDevice: number;
  /** The flagged devices they came from, sorted, as given to the engine. */
  readonly devices: readonly string[];
  /** How many of each sign. */
  readonly bySign: Readonly<Partial<Record<VitalSignName, number>>>;
}

/** One immutable version of a twin, with the commitments `commitTwinState` anchors. */
export interface TwinVersion {
  readonly version: number;
  /** keccak256 of the canonical state document (see state-root.ts). */
  readonly stateRoot: Bytes32;
  /** StandardMerkleTree root over `sourceHashes` (leaf encoding `["bytes32"]`); zero hash when empty. */
  readonly sourcesRoot: Bytes32;
  readonly model: TwinModel;
  /** The effective record per key, sorted by key (the caller's objects, not copied: treat as read-only). */
  readonly records: readonly TwinRecord[];
  /** Per sign, the deduplicated readings in canonical units, by time. */
  readonly readings: Readonly<Partial<Record<VitalSignName, readonly VitalReading[]>>>;
  /** Every source hash that fed this version (cumulative), lower case, sorted, unique. */
  readonly sourceHashes: readonly Bytes32[];
  /**
   * Only on a screened view (`TwinEngine.screened`) that left readings of flagged devices out: what it left out. Its
   * `model` (vitals, statistics, trends, alerts) and `readings` are then computed without them, while `stateRoot`
   * and `sourcesRoot` stay those of the committed version, which covers every reading, set aside or not.
   */
  readonly setAside?: SetAside;
  /** On such a view, the readings set aside (marked), per sign, by time. */
  readonly setAsideReadings?: Readonly<Partial<Record<VitalSignName, readonly VitalReading[]>>>;
}
