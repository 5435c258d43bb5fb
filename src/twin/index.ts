/**
 * The twin engine: from normalized EMR records and vital readings to the patient model
 * (problem list, medications, allergies, timeline, latest vitals, window statistics, trends,
 * alerts), each version committed by a state root and a sources root.
 */
export { TwinEngine } from "./engine";
export { deviceKey } from "./readings";
export { buildTwinModel, type BuildTwinOptions } from "./model";
export {
  DAY_MS,
  DEFAULT_BASELINE,
  DEFAULT_MAX_GAP_MS,
  DEFAULT_SIGN_PROFILES,
  DEFAULT_THRESHOLD_RULES,
  DEFAULT_TREND_MIN_POINTS,
  DEFAULT_WINDOWS,
  HOUR_MS,
  MINUTE_MS,
  resolveConfig,
  type AlertSeverity,
  type BaselineOptions,
  type Comparison,
  type ResolvedConfig,
  type SignProfile,
  type StatsWindow,
  type ThresholdRule,
  type TwinOptions,
} from "./config";
export { TwinEngineError, type TwinErrorCode } from "./errors";
export { stateCommitment, type StateCommitment } from "./commitment";
export { alertId, BASELINE_RULE_ID } from "./alerts";
export { canonicalHash, canonicalJson, canonicalNumber, keccakUtf8 } from "./canonical";
export {
  canonicalState,
  computeStateRoot,
  configDigest,
  seriesDigest,
  STATE_SCHEMA,
  stateDocument,
  type StateParts,
} from "./state-root";
export {
  EMPTY_SOURCES_ROOT,
  SOURCE_LEAF_ENCODING,
  computeSourcesRoot,
  normalizeSourceHashes,
  sourceProof,
  verifySourceProof,
} from "./source-tree";
export { acceptedUnits, canonicalUnit } from "./units";
export {
  alerts,
  allergies,
  conditions,
  latestVitals,
  medications,
  recordOf,
  reportResults,
  summary,
  timeline,
  vitalsSeries,
  type AlertFilter,
  type BucketedSeries,
  type BucketSize,
  type LatestVitals,
  type ReportResults,
  type RawSeries,
  type SeriesAggregation,
  type SeriesBucket,
  type SeriesQuery,
  type TwinSummary,
  type VitalsSeries,
} from "./views";
export {
  earlyWarning,
  news2Band,
  news2Points,
  news2Score,
  NEWS2_PARAMETERS,
  NEWS2_RESPONSE,
  type Consciousness,
  type EarlyWarningOptions,
  type News2Band,
  type News2Complete,
  type News2Incomplete,
  type News2Inputs,
  type News2Item,
  type News2Parameter,
  type News2Points,
  type News2Result,
} from "./news2";
export {
  forecastAlerts,
  forecastSeries,
  forecastVitals,
  type ForecastAlert,
  type ForecastOptions,
  type ForecastPoint,
  type SignForecast,
} from "./forecast";
export type * from "./types";
