import { VitalSign, type VitalSignName } from "../../fhir/records";
import type { AlertSeverity } from "../../twin";
import { Action, ALL_CATEGORIES, DataCategory } from "../../vocabulary";
import { GatewayError } from "../errors";
import {
  checkPredictiveParams,
  PREDICTIVE_CATEGORIES,
  type EarlyWarningParams,
  type ForecastParams,
} from "./predictive";

/*
 * The query types (src/service/queries.ts has the table): their names, the categories and action each needs, and
 * their params, checked before anything is read. The answers are built in src/service/queries.ts.
 */

export const QUERY_TYPE_NAMES = [
  "summary",
  "latest-vitals",
  "vitals-series",
  "alerts",
  "conditions-medications",
  "fhir-export",
  "early-warning",
  "forecast",
] as const;
export type QueryType = (typeof QUERY_TYPE_NAMES)[number];

/** The reading categories: a reading's `category` is one of these (none means VITALS). */
export const READING_CATEGORIES = DataCategory.LABS | DataCategory.VITALS | DataCategory.WEARABLE_STREAMS;

export const SUMMARY_CATEGORIES =
  DataCategory.TWIN_MODEL |
  DataCategory.CONDITIONS |
  DataCategory.MEDICATIONS |
  DataCategory.ALLERGIES |
  READING_CATEGORIES;
export const ALERT_CATEGORIES = DataCategory.TWIN_MODEL | READING_CATEGORIES;
export const CONDITIONS_MEDICATIONS_CATEGORIES = DataCategory.CONDITIONS | DataCategory.MEDICATIONS;

/** How a query type's `category` is checked: `exact` (equal to the mask) or `subset` (non-empty subset of it). */
export interface QueryTypeSpec {
  readonly categoryRule: "exact" | "subset";
  readonly categories: number;
  /** The category a client uses when it does not choose one. */
  readonly defaultCategory: number;
}

export const QUERY_TYPE_SPECS: Readonly<Record<QueryType, QueryTypeSpec>> = {
  summary: { categoryRule: "exact", categories: SUMMARY_CATEGORIES, defaultCategory: SUMMARY_CATEGORIES },
  "latest-vitals": {
    categoryRule: "subset",
    categories: READING_CATEGORIES,
    defaultCategory: DataCategory.VITALS | DataCategory.WEARABLE_STREAMS,
  },
  "vitals-series": {
    categoryRule: "subset",
    categories: READING_CATEGORIES,
    defaultCategory: DataCategory.VITALS | DataCategory.WEARABLE_STREAMS,
  },
  alerts: { categoryRule: "exact", categories: ALERT_CATEGORIES, defaultCategory: ALERT_CATEGORIES },
  "conditions-medications": {
    categoryRule: "exact",
    categories: CONDITIONS_MEDICATIONS_CATEGORIES,
    defaultCategory: CONDITIONS_MEDICATIONS_CATEGORIES,
  },
  "fhir-export": { categoryRule: "subset", categories: ALL_CATEGORIES, defaultCategory: ALL_CATEGORIES },
  "early-warning": {
    categoryRule: "subset",
    categories: PREDICTIVE_CATEGORIES,
    defaultCategory: PREDICTIVE_CATEGORIES,
  },
  forecast: { categoryRule: "subset", categories: PREDICTIVE_CATEGORIES, defaultCategory: PREDICTIVE_CATEGORIES },
};

export function isQueryType(value: string): value is QueryType {
  return Object.prototype.hasOwnProperty.call(QUERY_TYPE_SPECS, value);
}

// ---------------------------------------------------------------------------------------------------------------
// Params
// ---------------------------------------------------------------------------------------------------------------

export type SeriesBucketName = "raw" | "minute" | "hour" | "day";
/** Which statistics of each bucket to return; `stats` (default) is count, min, max and mean. */
export type SeriesStat = "stats" | "count" | "min" | "max" | "mean";

export interface VitalsSeriesParams {
  readonly sign: VitalSignName;
  /** Inclusive bounds, epoch ms. */
  readonly from?: number;
  readonly to?: number;
  readonly bucket?: SeriesBucketName;
  readonly aggregation?: SeriesStat;
}

export interface AlertsParams {
  readonly status?: "open" | "resolved";
  readonly sign?: VitalSignName;
  readonly severity?: AlertSeverity;
  readonly from?: number;
  readonly to?: number;
}

export interface ConditionsMedicationsParams {
  readonly activeOnly?: boolean;
}

export interface FhirExportParams {
  readonly type?: "collection" | "searchset";
}

/** The params of each query type. */
export interface QueryParamsMap {
  summary: Record<string, never>;
  "latest-vitals": Record<string, never>;
  "vitals-series": VitalsSeriesParams;
  alerts: AlertsParams;
  "conditions-medications": ConditionsMedicationsParams;
  "fhir-export": FhirExportParams;
  "early-warning": EarlyWarningParams;
  forecast: ForecastParams;
}

/** Largest raw series answered in one query (ask for a shorter range, or for buckets). */
export const MAX_RAW_POINTS = 20_000;

const BUCKETS: readonly SeriesBucketName[] = ["raw", "minute", "hour", "day"];
const STATS: readonly SeriesStat[] = ["stats", "count", "min", "max", "mean"];
const SEVERITIES: readonly AlertSeverity[] = ["moderate", "high", "critical"];

type Checker = (params: Record<string, unknown>) => void;

function invalid(message: string): GatewayError {
  return new GatewayError("invalid-params", message);
}

function only(params: Record<string, unknown>, keys: readonly string[]): void {
  for (const key of Object.keys(params)) {
    if (!keys.includes(key)) throw invalid(`unknown param ${JSON.stringify(key.slice(0, 40))}`);
  }
}

function optionalTime(params: Record<string, unknown>, key: string): void {
  const value = params[key];
  if (value !== undefined && !(typeof value === "number" && Number.isSafeInteger(value) && value >= 0)) {
    throw invalid(`${key} must be a non-negative integer of epoch milliseconds`);
  }
}

function optionalOneOf(params: Record<string, unknown>, key: string, values: readonly string[]): void {
  const value = params[key];
  if (value !== undefined && !(typeof value === "string" && values.includes(value))) {
    throw invalid(`${key} must be one of ${values.join(", ")}`);
  }
}

function range(params: Record<string, unknown>): void {
  optionalTime(params, "from");
  optionalTime(params, "to");
  if (typeof params.from === "number" && typeof params.to === "number" && params.from > params.to) {
    throw invalid("from is after to");
  }
}

const SIGNS = Object.keys(VitalSign);

const CHECKERS: Readonly<Record<QueryType, Checker>> = {
  summary: (p) => only(p, []),
  "latest-vitals": (p) => only(p, []),
  "vitals-series": (p) => {
    only(p, ["sign", "from", "to", "bucket", "aggregation"]);
    if (typeof p.sign !== "string" || !SIGNS.includes(p.sign)) throw invalid("sign must be a known vital sign");
    range(p);
    optionalOneOf(p, "bucket", BUCKETS);
    optionalOneOf(p, "aggregation", STATS);
  },
  alerts: (p) => {
    only(p, ["status", "sign", "severity", "from", "to"]);
    optionalOneOf(p, "status", ["open", "resolved"]);
    optionalOneOf(p, "sign", SIGNS);
    optionalOneOf(p, "severity", SEVERITIES);
    range(p);
  },
  "conditions-medications": (p) => {
    only(p, ["activeOnly"]);
    if (p.activeOnly !== undefined && typeof p.activeOnly !== "boolean") throw invalid("activeOnly must be a boolean");
  },
  "fhir-export": (p) => {
    only(p, ["type"]);
    optionalOneOf(p, "type", ["collection", "searchset"]);
  },
  "early-warning": (p) => checkPredictiveParams("early-warning", p),
  forecast: (p) => checkPredictiveParams("forecast", p),
};

/** Checks the params of a query type; throws `invalid-params` naming the key (never the value). */
export function checkParams<Q extends QueryType>(queryType: Q, params: Record<string, unknown>): QueryParamsMap[Q] {
  CHECKERS[queryType](params);
  return params as unknown as QueryParamsMap[Q];
}

/** Checks `category` against the query type's rule; throws `invalid-category`. */
export function checkCategory(queryType: QueryType, category: number): void {
  const spec = QUERY_TYPE_SPECS[queryType];
  const ok =
    spec.categoryRule === "exact"
      ? category === spec.categories
      : category !== 0 && (category & ~spec.categories) === 0;
  if (!ok) {
    throw new GatewayError(
      "invalid-category",
      spec.categoryRule === "exact"
        ? `${queryType} reveals categories ${spec.categories}; sign exactly that mask`
        : `${queryType} takes a non-empty subset of categories ${spec.categories}`,
    );
  }
}

/** The action a query needs: `aggregate` (AGGREGATE or READ pass) for bucketed series, READ otherwise. */
export function actionOf(queryType: QueryType, params: Record<string, unknown>): "read" | "aggregate" {
  return queryType === "vitals-series" && params.bucket !== undefined && params.bucket !== "raw" ? "aggregate" : "read";
}

export const ACTION_BITS = { read: Action.READ, aggregate: Action.AGGREGATE } as const;
