import type { Bundle } from "@medplum/fhirtypes";
import { exportBundle } from "../fhir/export";
import type { VitalReading, VitalSignName } from "../fhir/records";
import type { BatchAnchor, ProvenReading, RecordAnchor, StateAnchor, TwinDataReader } from "../pipeline/reader";
import {
  alerts,
  conditions,
  medications,
  summary,
  vitalsSeries,
  type Medication,
  type Problem,
  type SeriesBucket,
  type TwinAlert,
  type TwinSummary,
  type TwinVersion,
} from "../twin";
import { DataCategory } from "../vocabulary";
import { GatewayError } from "./errors";
import {
  earlyWarningOf,
  forecastOf,
  forecastReadings,
  NEWS2_SIGN_NAMES,
  scoredReadings,
  versionFor,
  type EarlyWarningAnswer,
  type EarlyWarningParams,
  type ForecastAnswer,
  type ForecastParams,
} from "./queries/predictive";
import { withSetAside, type SetAsideField } from "./queries/set-aside";
import {
  CONDITIONS_MEDICATIONS_CATEGORIES,
  MAX_RAW_POINTS,
  READING_CATEGORIES,
  type AlertsParams,
  type ConditionsMedicationsParams,
  type FhirExportParams,
  type QueryType,
  type SeriesBucketName,
  type SeriesStat,
  type VitalsSeriesParams,
} from "./queries/params";

export * from "./queries/params";

/**
 * The query types the gateway serves: what each reveals (the DataCategory bits a reader must be granted), the action
 * it needs, its params, and how its answer and proofs are built from a TwinVersion and the pipeline's anchors.
 *
 * | queryType                | category (signed `query.category`)                                   | action              |
 * |--------------------------|----------------------------------------------------------------------|---------------------|
 * | `summary`                | exactly TWIN_MODEL│CONDITIONS│MEDICATIONS│ALLERGIES│LABS│VITALS│WEARABLE_STREAMS | READ |
 * | `latest-vitals`          | a non-empty subset of LABS│VITALS│WEARABLE_STREAMS (readings filtered to it) | READ         |
 * | `vitals-series` raw      | a non-empty subset of LABS│VITALS│WEARABLE_STREAMS (readings filtered to it) | READ         |
 * | `vitals-series` bucketed | the same                                                              | AGGREGATE or READ   |
 * | `alerts`                 | exactly TWIN_MODEL│LABS│VITALS│WEARABLE_STREAMS                       | READ                |
 * | `conditions-medications` | exactly CONDITIONS│MEDICATIONS                                        | READ                |
 * | `fhir-export`            | any non-empty mask; the Bundle holds the records of the granted bits | READ                |
 * | `early-warning`          | a non-empty subset of VITALS│WEARABLE_STREAMS (readings filtered to it) | READ             |
 * | `forecast`               | a non-empty subset of VITALS│WEARABLE_STREAMS (readings filtered to it) | READ             |
 *
 * A summary reveals problems, medications, allergies, the latest value of every sign (care, lab or wearable) and the
 * count of open alerts; alerts are computed over every reading of a sign (lab glucose included). Aggregate queries
 * pass with a grant of AGGREGATE or of READ: whoever may read the readings may read their bucket statistics.
 */

// ---------------------------------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------------------------------

/** A record key with its anchor: a leaf of a record batch (kind "records"), or a v1 update (kind "update"). */
export interface RecordProof {
  readonly key: string;
  readonly anchor: RecordAnchor;
}

/**
 * A reading as answered, with the leaf of its anchored batch (wearable readings; null while not yet anchored), or,
 * for a reading taken from an EMR record, the anchor of that record (`recordAnchor`).
 */
export interface ReadingProof {
  readonly reading: VitalReading;
  readonly anchor: BatchAnchor | null;
  readonly recordAnchor?: RecordAnchor;
}

/** A batch some aggregated readings came from. */
export interface BatchRef {
  readonly merkleRoot: string;
  /** The source that anchored the batch: batches are keyed by (twin, source, root) on chain. */
  readonly source: string;
  readonly blockNumber: number;
  /** How many of the aggregated readings are leaves of this batch. */
  readonly readings: number;
}

/** The proofs an allowed answer carries (see the README of src/service: what a reader can verify). */
export interface AnswerProofs {
  /** The committed twin version the answer was computed from (null before its first commit). */
  readonly state: StateAnchor | null;
  readonly records?: readonly RecordProof[];
  readonly readings?: readonly ReadingProof[];
  /** For aggregated answers: the batches of the readings aggregated, and how many were not yet anchored. */
  readonly batches?: readonly BatchRef[];
  /** For aggregated answers: readings with neither a batch nor a record anchor yet. */
  readonly unanchoredReadings?: number;
}

export interface LatestVitalsAnswer extends SetAsideField {
  readonly vitals: Readonly<Partial<Record<VitalSignName, VitalReading>>>;
}

export interface BucketStat {
  readonly start: number;
  readonly end: number;
  readonly count?: number;
  readonly min?: number;
  readonly max?: number;
  readonly mean?: number;
}

export type VitalsSeriesAnswer = SetAsideField &
  (
    | {
        readonly sign: VitalSignName;
        readonly unit: string;
        readonly bucket: "raw";
        readonly from: number | null;
        readonly to: number | null;
        readonly points: readonly VitalReading[];
      }
    | {
        readonly sign: VitalSignName;
        readonly unit: string;
        readonly bucket: Exclude<SeriesBucketName, "raw">;
        readonly aggregation: SeriesStat;
        readonly from: number | null;
        readonly to: number | null;
        readonly buckets: readonly BucketStat[];
      }
  );

export interface ConditionsMedicationsAnswer {
  readonly conditions: readonly Problem[];
  readonly medications: readonly Medication[];
}

export interface FhirExportAnswer {
  /** The categories exported (those of the requested mask the consent allows). */
  readonly categories: number;
  /** The requested categories the consent does not allow (left out of the Bundle). */
  readonly refusedCategories: number;
  readonly bundle: Bundle;
}

export interface QueryAnswerMap {
  summary: TwinSummary & SetAsideField;
  "latest-vitals": LatestVitalsAnswer;
  "vitals-series": VitalsSeriesAnswer;
  alerts: { readonly alerts: readonly TwinAlert[] } & SetAsideField;
  "conditions-medications": ConditionsMedicationsAnswer;
  "fhir-export": FhirExportAnswer;
  "early-warning": EarlyWarningAnswer;
  forecast: ForecastAnswer;
}

export interface BuiltAnswer<Q extends QueryType = QueryType> {
  readonly answer: QueryAnswerMap[Q];
  readonly proofs: AnswerProofs;
}

export interface AnswerContext {
  readonly data: TwinDataReader;
  readonly twinId: string;
  readonly version: TwinVersion;
  readonly state: StateAnchor | null;
  /** The signed category mask (for fhir-export: the allowed part of it). */
  readonly category: number;
  /** For fhir-export: the requested bits the consent refused. */
  readonly refusedCategories: number;
}

/** Builds the answer of an allowed query. */
export async function buildAnswer(
  queryType: QueryType,
  params: Record<string, unknown>,
  ctx: AnswerContext,
): Promise<BuiltAnswer> {
  switch (queryType) {
    case "summary":
      return summaryAnswer(ctx);
    case "latest-vitals":
      return latestVitalsAnswer(ctx);
    case "vitals-series":
      return seriesAnswer(params as unknown as VitalsSeriesParams, ctx);
    case "alerts": {
      const answer = withSetAside({ alerts: alerts(ctx.version, params as AlertsParams) }, ctx.version, ctx.category);
      return { answer, proofs: { state: ctx.state } };
    }
    case "conditions-medications":
      return conditionsMedicationsAnswer(params as ConditionsMedicationsParams, ctx);
    case "fhir-export":
      return fhirExportAnswer(params as FhirExportParams, ctx);
    case "early-warning":
      return earlyWarningAnswer(params as EarlyWarningParams, ctx);
    case "forecast":
      return forecastAnswer(params as ForecastParams, ctx);
  }
}

const categoryOf = (reading: VitalReading): number => reading.category ?? DataCategory.VITALS;

async function recordProofs(ctx: AnswerContext, mask: number, keys: ReadonlySet<string>): Promise<RecordProof[]> {
  if (keys.size === 0) return [];
  const proven = await ctx.data.records(ctx.twinId, mask);
  return proven.filter((p) => keys.has(p.record.key)).map((p) => ({ key: p.record.key, anchor: p.anchor }));
}

const readingKey = (reading: Pick<VitalReading, "sign" | "at" | "value">): string =>
  `${reading.sign}|${reading.at}|${reading.value}`;

/** Finds the anchors of given readings: one `readings` call per sign over the readings' time span. */
async function readingProofs(ctx: AnswerContext, readings: readonly VitalReading[]): Promise<ReadingProof[]> {
  const bySign = new Map<VitalSignName, VitalReading[]>();
  for (const reading of readings) bySign.set(reading.sign, [...(bySign.get(reading.sign) ?? []), reading]);
  const anchors = new Map<string, ProvenReading>();
  await Promise.all(
    [...bySign].map(async ([sign, list]) => {
      const from = Math.min(...list.map((r) => r.at));
      const to = Math.max(...list.map((r) => r.at)) + 1;
      for (const p of await ctx.data.readings(ctx.twinId, { signs: [sign], from, to })) {
        anchors.set(readingKey(p.reading), p);
      }
    }),
  );
  return readings.map((reading) => proofOf(reading, anchors.get(readingKey(reading))));
}

function proofOf(reading: VitalReading, proven: ProvenReading | undefined): ReadingProof {
  return {
    reading,
    anchor: proven?.anchor ?? null,
    ...(proven?.recordAnchor !== undefined && { recordAnchor: proven.recordAnchor }),
  };
}

async function summaryAnswer(ctx: AnswerContext): Promise<BuiltAnswer> {
  const answer = withSetAside(summary(ctx.version), ctx.version, ctx.category);
  const keys = new Set<string>([
    ...answer.problems.map((p) => p.key),
    ...answer.activeMedications.map((m) => m.key),
    ...answer.allergies.map((a) => a.key),
  ]);
  const latest = latestReadings(ctx.version, READING_CATEGORIES);
  const [records, readings] = await Promise.all([
    recordProofs(ctx, DataCategory.CONDITIONS | DataCategory.MEDICATIONS | DataCategory.ALLERGIES, keys),
    readingProofs(ctx, Object.values(latest)),
  ]);
  return { answer, proofs: { state: ctx.state, records, readings } };
}

/** The latest reading of each sign among those of the categories in `mask`. */
function latestReadings(version: TwinVersion, mask: number): Partial<Record<VitalSignName, VitalReading>> {
  const latest: Partial<Record<VitalSignName, VitalReading>> = {};
  for (const [sign, list] of Object.entries(version.readings) as [VitalSignName, readonly VitalReading[]][]) {
    for (let i = list.length - 1; i >= 0; i--) {
      if ((categoryOf(list[i]) & mask) !== 0) {
        latest[sign] = list[i];
        break;
      }
    }
  }
  return latest;
}

async function latestVitalsAnswer(ctx: AnswerContext): Promise<BuiltAnswer> {
  const vitals = latestReadings(ctx.version, ctx.category);
  const readings = await readingProofs(ctx, Object.values(vitals));
  return { answer: withSetAside({ vitals }, ctx.version, ctx.category), proofs: { state: ctx.state, readings } };
}

function project(bucket: SeriesBucket, stat: SeriesStat): BucketStat {
  const { start, end } = bucket;
  switch (stat) {
    case "stats":
      return bucket;
    case "count":
      return { start, end, count: bucket.count };
    case "min":
      return { start, end, min: bucket.min };
    case "max":
      return { start, end, max: bucket.max };
    case "mean":
      return { start, end, mean: bucket.mean };
  }
}

async function seriesAnswer(params: VitalsSeriesParams, ctx: AnswerContext): Promise<BuiltAnswer> {
  const { sign, from, to } = params;
  const bucket = params.bucket ?? "raw";
  const raw = vitalsSeries(ctx.version, { sign, from, to, aggregation: "raw", categories: ctx.category });
  const scope = { signs: [sign], from, to };
  // The anchors of the readings in range (ReadingsQuery's `to` is exclusive, the series' inclusive).
  const proven: readonly ProvenReading[] = await ctx.data.readings(ctx.twinId, {
    signs: [sign],
    ...(from !== undefined && { from }),
    ...(to !== undefined && { to: to + 1 }),
  });
  const anchors = new Map<string, ProvenReading>();
  for (const p of proven) anchors.set(readingKey(p.reading), p);

  if (bucket === "raw") {
    if (raw.points.length > MAX_RAW_POINTS) {
      throw new GatewayError(
        "invalid-params",
        `more than ${MAX_RAW_POINTS} readings: ask for a shorter range or buckets`,
      );
    }
    return {
      answer: withSetAside(
        { sign, unit: raw.unit, bucket, from: raw.from, to: raw.to, points: raw.points },
        ctx.version,
        ctx.category,
        scope,
      ),
      proofs: {
        state: ctx.state,
        readings: raw.points.map((reading) => proofOf(reading, anchors.get(readingKey(reading)))),
      },
    };
  }
  const aggregation = params.aggregation ?? "stats";
  const series = vitalsSeries(ctx.version, { sign, from, to, aggregation: bucket, categories: ctx.category });
  return {
    answer: withSetAside(
      {
        sign,
        unit: series.unit,
        bucket,
        aggregation,
        from: series.from,
        to: series.to,
        buckets: series.buckets.map((b) => project(b, aggregation)),
      },
      ctx.version,
      ctx.category,
      scope,
    ),
    proofs: { state: ctx.state, ...aggregatedProofs(raw.points, anchors) },
  };
}

/** The proofs of aggregated readings: the batches they came from, the records of EMR readings, the unanchored. */
function aggregatedProofs(
  readings: readonly VitalReading[],
  anchors: ReadonlyMap<string, ProvenReading>,
): Pick<AnswerProofs, "batches" | "records" | "unanchoredReadings"> {
  const batches = new Map<string, { source: string; blockNumber: number; readings: number }>();
  const records = new Map<string, RecordProof>();
  let unanchoredReadings = 0;
  for (const reading of readings) {
    const proven = anchors.get(readingKey(reading));
    const anchor = proven?.anchor ?? null;
    if (anchor === null) {
      const recordAnchor = proven?.recordAnchor;
      if (recordAnchor !== undefined && reading.recordKey !== undefined) {
        records.set(reading.recordKey, { key: reading.recordKey, anchor: recordAnchor });
      } else {
        unanchoredReadings++;
      }
      continue;
    }
    const key = `${anchor.source}:${anchor.merkleRoot}`;
    const batch = batches.get(key);
    if (batch === undefined) {
      batches.set(key, { source: anchor.source, blockNumber: anchor.blockNumber, readings: 1 });
    } else batch.readings++;
  }
  return {
    batches: [...batches].map(([key, b]) => ({ merkleRoot: key.slice(key.indexOf(":") + 1), ...b })),
    ...(records.size > 0 && { records: [...records.values()] }),
    unanchoredReadings,
  };
}

/** NEWS2 of the readings of the signed categories, with the anchors of the readings it scored. */
async function earlyWarningAnswer(params: EarlyWarningParams, ctx: AnswerContext): Promise<BuiltAnswer> {
  const version = versionFor(ctx.version, ctx.category);
  const answer = withSetAside(earlyWarningOf(version, params), ctx.version, ctx.category, { signs: NEWS2_SIGN_NAMES });
  const readings = await readingProofs(ctx, scoredReadings(version, answer.news2));
  return { answer, proofs: { state: ctx.state, readings } };
}

/**
 * Forecasts of the readings of the signed categories: the reading each forecast starts from with its anchor, and
 * the batches (or records) of the readings it learnt from, as for an aggregated series.
 */
async function forecastAnswer(params: ForecastParams, ctx: AnswerContext): Promise<BuiltAnswer> {
  const version = versionFor(ctx.version, ctx.category);
  const answer = withSetAside(forecastOf(version, params), ctx.version, ctx.category);
  const learnt = forecastReadings(version, answer);
  const latest = Object.values(answer.forecasts).map((f) => version.readings[f.sign]!.at(-1)!);
  const anchors = new Map<string, ProvenReading>();
  await Promise.all(
    Object.values(answer.forecasts).map(async (f) => {
      const from = f.basedOnAt - 24 * 3_600_000 + 1;
      for (const p of await ctx.data.readings(ctx.twinId, { signs: [f.sign], from, to: f.basedOnAt + 1 })) {
        anchors.set(readingKey(p.reading), p);
      }
    }),
  );
  return {
    answer,
    proofs: {
      state: ctx.state,
      readings: latest.map((reading) => proofOf(reading, anchors.get(readingKey(reading)))),
      ...aggregatedProofs(learnt, anchors),
    },
  };
}

async function conditionsMedicationsAnswer(
  params: ConditionsMedicationsParams,
  ctx: AnswerContext,
): Promise<BuiltAnswer> {
  const activeOnly = params.activeOnly === true;
  const answer: ConditionsMedicationsAnswer = {
    conditions: conditions(ctx.version, activeOnly ? { state: "active" } : {}),
    medications: medications(ctx.version, { activeOnly }),
  };
  const keys = new Set([...answer.conditions.map((c) => c.key), ...answer.medications.map((m) => m.key)]);
  const records = await recordProofs(ctx, CONDITIONS_MEDICATIONS_CATEGORIES, keys);
  return { answer, proofs: { state: ctx.state, records } };
}

async function fhirExportAnswer(params: FhirExportParams, ctx: AnswerContext): Promise<BuiltAnswer> {
  const proven = await ctx.data.records(ctx.twinId, ctx.category);
  const allowed = proven.filter((p) => (p.record.category & ctx.category) !== 0);
  const bundle = exportBundle(
    allowed.map((p) => p.record),
    ctx.category,
    params.type !== undefined ? { type: params.type } : {},
  );
  return {
    answer: { categories: ctx.category, refusedCategories: ctx.refusedCategories, bundle },
    proofs: { state: ctx.state, records: allowed.map((p) => ({ key: p.record.key, anchor: p.anchor })) },
  };
}
