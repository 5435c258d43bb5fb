import Ajv, { type ValidateFunction } from "ajv";
import type { VitalReading, VitalSignName } from "../../fhir/records";
import {
  earlyWarning,
  forecastAlerts,
  forecastVitals,
  HOUR_MS,
  NEWS2_RESPONSE,
  resolveConfig,
  type Consciousness,
  type ForecastAlert,
  type News2Result,
  type SignForecast,
  type TwinVersion,
  type VitalSummary,
} from "../../twin";
import { DataCategory } from "../../vocabulary";
import { GatewayError } from "../errors";
import type { SetAsideField } from "./set-aside";

/**
 * The predictive query types, `early-warning` (NEWS2 from the twin's latest vitals) and `forecast` (short-term
 * forecasts of each vital sign with prediction intervals, and the alerts they raise before a measured value does).
 * Both reveal vital readings: their `category` is a non-empty subset of VITALS│WEARABLE_STREAMS and READ is needed;
 * only the readings of the signed categories are scored or forecast (a VITALS-only reader gets a score from the
 * vitals taken in care, never from the wearable stream).
 *
 * Params are checked against the JSON schemas below (the same documents a client can read), with typed 400
 * `invalid-params` errors that name the param, never its value.
 */

export const PREDICTIVE_CATEGORIES = DataCategory.VITALS | DataCategory.WEARABLE_STREAMS;

export interface EarlyWarningParams {
  /** Whether the patient breathes supplemental oxygen now (the twin does not hold it). */
  readonly oxygen?: boolean;
  /** ACVPU now (the twin does not hold it). */
  readonly consciousness?: Consciousness;
  /** 1 (default) or 2 (hypercapnic respiratory failure, chosen by a clinician). */
  readonly spo2Scale?: 1 | 2;
}

export interface ForecastParams {
  /** Forecast horizon in hours, 1 to 24 (default 6). */
  readonly hours?: number;
}

export const EARLY_WARNING_PARAMS_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    oxygen: { type: "boolean", description: "Supplemental oxygen now (true) or room air (false)." },
    consciousness: {
      type: "string",
      enum: ["alert", "new-confusion", "voice", "pain", "unresponsive"],
      description: "ACVPU now.",
    },
    spo2Scale: { type: "integer", enum: [1, 2], description: "NEWS2 SpO2 scale (default 1)." },
  },
} as const;

export const FORECAST_PARAMS_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    hours: { type: "integer", minimum: 1, maximum: 24, description: "Horizon in hours (default 6)." },
  },
} as const;

export const DEFAULT_FORECAST_HOURS = 6;

/**
 * The params validators, compiled on first use: Ajv compiles schemas to code with `new Function`, which the web app
 * (it bundles this module, under a CSP without 'unsafe-eval') must never run at load.
 */
let validators: Readonly<Record<"early-warning" | "forecast", ValidateFunction>> | undefined;
function validatorOf(queryType: "early-warning" | "forecast"): ValidateFunction {
  if (validators === undefined) {
    const ajv = new Ajv({ allErrors: false, coerceTypes: false, strict: true });
    validators = {
      "early-warning": ajv.compile(EARLY_WARNING_PARAMS_SCHEMA),
      forecast: ajv.compile(FORECAST_PARAMS_SCHEMA),
    };
  }
  return validators[queryType];
}

/** Checks params against the query type's schema; throws `invalid-params` naming the param (never its value). */
export function checkPredictiveParams(queryType: "early-warning" | "forecast", params: Record<string, unknown>): void {
  const validate = validatorOf(queryType);
  if (validate(params)) return;
  const error = validate.errors?.[0];
  const where =
    error?.keyword === "additionalProperties"
      ? `unknown param ${JSON.stringify(String(error.params.additionalProperty).slice(0, 40))}`
      : `${error?.instancePath.replace(/^\//, "") || "params"} ${error?.message ?? "is invalid"}`;
  throw new GatewayError("invalid-params", where);
}

export interface EarlyWarningAnswer extends SetAsideField {
  /** The NEWS2 result: `complete` with score, band, response and per-parameter points, or `incomplete`. */
  readonly news2: News2Result;
  /** The clinical response of each band (RCP table 1), for reference. */
  readonly responses: typeof NEWS2_RESPONSE;
}

export interface ForecastAnswer extends SetAsideField {
  readonly horizonHours: number;
  /** Per sign with enough history: the forecast points with their prediction intervals. */
  readonly forecasts: Readonly<Partial<Record<VitalSignName, SignForecast>>>;
  /** Threshold crossings the forecasts expect within the horizon (never measured alerts). */
  readonly alerts: readonly ForecastAlert[];
}

const categoryOf = (reading: VitalReading): number => reading.category ?? DataCategory.VITALS;

/**
 * The version as a reader of `mask` sees it: readings of other categories left out, each sign's latest recomputed.
 * The version itself when every reading is in the mask (the common case: no copy).
 */
export function versionFor(version: TwinVersion, mask: number): TwinVersion {
  const entries = Object.entries(version.readings) as [VitalSignName, readonly VitalReading[]][];
  if (entries.every(([, list]) => list.every((r) => (categoryOf(r) & mask) !== 0))) return version;
  const readings: Partial<Record<VitalSignName, readonly VitalReading[]>> = {};
  const vitals: Partial<Record<VitalSignName, VitalSummary>> = {};
  for (const [sign, list] of entries) {
    const kept = list.filter((r) => (categoryOf(r) & mask) !== 0);
    const summary = version.model.vitals[sign];
    if (kept.length === 0 || summary === undefined) continue;
    const last = kept[kept.length - 1];
    readings[sign] = kept;
    vitals[sign] = {
      ...summary,
      count: kept.length,
      firstAt: kept[0].at,
      lastAt: last.at,
      latest: {
        sign,
        value: last.value,
        unit: summary.unit,
        at: last.at,
        ...(last.source !== undefined && { source: last.source }),
      },
    };
  }
  return { ...version, readings, model: { ...version.model, vitals } };
}

export function earlyWarningOf(version: TwinVersion, params: EarlyWarningParams): EarlyWarningAnswer {
  const news2 = earlyWarning(version, {
    ...(params.oxygen !== undefined && { supplementalOxygen: params.oxygen }),
    ...(params.consciousness !== undefined && { consciousness: params.consciousness }),
    ...(params.spo2Scale !== undefined && { spo2Scale: params.spo2Scale }),
  });
  return { news2, responses: NEWS2_RESPONSE };
}

/** NEWS2's twin-measured parameters and the signs they are read from. */
const NEWS2_SIGNS: Readonly<Record<string, VitalSignName>> = {
  respirationRate: "respiratoryRate",
  oxygenSaturation: "oxygenSaturation",
  systolicBloodPressure: "systolic",
  pulse: "heartRate",
  temperature: "bodyTemperature",
};

/** The signs NEWS2 reads. */
export const NEWS2_SIGN_NAMES: readonly VitalSignName[] = Object.freeze(Object.values(NEWS2_SIGNS));

/** The readings a NEWS2 result scored (one per measured parameter). */
export function scoredReadings(version: TwinVersion, news2: News2Result): VitalReading[] {
  const out: VitalReading[] = [];
  for (const item of news2.items) {
    const sign = NEWS2_SIGNS[item.parameter];
    if (sign === undefined || item.at === undefined) continue;
    const list = version.readings[sign] ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i].at === item.at) {
        out.push(list[i]);
        break;
      }
    }
  }
  return out;
}

/** The default engine configuration's threshold rules: the gateway does not see the pipeline's engine options. */
const RULES = resolveConfig();

export function forecastOf(version: TwinVersion, params: ForecastParams): ForecastAnswer {
  const horizonHours = params.hours ?? DEFAULT_FORECAST_HOURS;
  const horizonMs = horizonHours * HOUR_MS;
  return {
    horizonHours,
    forecasts: forecastVitals(version, { horizonMs }),
    alerts: forecastAlerts(version, RULES, { horizonMs }),
  };
}

/** The readings a forecast learnt from: each forecast sign's readings of the 24 hours up to its latest. */
export function forecastReadings(version: TwinVersion, answer: ForecastAnswer): VitalReading[] {
  const out: VitalReading[] = [];
  for (const forecast of Object.values(answer.forecasts)) {
    const from = forecast.basedOnAt - 24 * HOUR_MS;
    for (const r of version.readings[forecast.sign] ?? []) if (r.at > from) out.push(r);
  }
  return out;
}
