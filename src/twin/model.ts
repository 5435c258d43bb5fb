import type { TwinRecord, VitalReading, VitalSignName } from "../fhir/records";
import { detectAlerts } from "./alerts";
import { clinicalLists } from "./clinical";
import { resolveConfig, type ResolvedConfig, type TwinOptions } from "./config";
import { TwinEngineError } from "./errors";
import { mergeSeriesBySign, seriesOf, type SeriesBySign } from "./readings";
import { mergeRecords, sortedRecords } from "./record-set";
import { computeSourcesRoot, normalizeSourceHashes } from "./source-tree";
import { computeStateRoot } from "./state-root";
import { summarizeSeries } from "./statistics";
import type { Bytes32, TwinBatch, TwinModel, TwinVersion, VitalSummary } from "./types";
import { canonicalUnit } from "./units";

/** Everything the twin has been fed so far, deduplicated. */
export interface TwinInputs {
  readonly records: ReadonlyMap<string, TwinRecord>;
  readonly series: SeriesBySign;
  readonly sourceHashes: readonly Bytes32[];
}

export const NO_INPUTS: TwinInputs = Object.freeze({
  records: new Map<string, TwinRecord>(),
  series: new Map<VitalSignName, readonly VitalReading[]>(),
  sourceHashes: Object.freeze([]) as readonly Bytes32[],
});

/** Inputs plus a batch, in O(existing + batch log batch); `base` is untouched. Throws on invalid input. */
export function addBatch(base: TwinInputs, batch: TwinBatch): TwinInputs {
  const records = batch.records?.length ? mergeRecords(base.records, batch.records) : base.records;
  const series = batch.readings?.length ? mergeSeriesBySign(base.series, seriesOf(batch.readings)) : base.series;
  const sourceHashes = batch.sourceHashes?.length
    ? Object.freeze(normalizeSourceHashes([...base.sourceHashes, ...batch.sourceHashes]))
    : base.sourceHashes;
  return { records, series, sourceHashes };
}

/** The inputs a version was built from, to resume an engine from it. */
export function inputsOf(version: TwinVersion): TwinInputs {
  const series = new Map<VitalSignName, readonly VitalReading[]>();
  for (const [sign, readings] of Object.entries(version.readings) as [VitalSignName, readonly VitalReading[]][]) {
    if (readings.length > 0) series.set(sign, readings);
  }
  return {
    records: new Map(version.records.map((record) => [record.key, record])),
    series,
    sourceHashes: version.sourceHashes,
  };
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

/** Derive the model and both roots from the accumulated inputs. */
export function composeVersion(
  inputs: TwinInputs,
  version: number,
  config: ResolvedConfig,
  asOfOverride?: number,
): TwinVersion {
  const records = Object.freeze(sortedRecords(inputs.records));
  const readings: Partial<Record<VitalSignName, readonly VitalReading[]>> = {};
  let latest: number | null = null;
  for (const sign of [...inputs.series.keys()].sort()) {
    const series = inputs.series.get(sign);
    if (series === undefined || series.length === 0) continue;
    readings[sign] = series;
    const last = series[series.length - 1].at;
    if (latest === null || last > latest) latest = last;
  }
  const asOf = asOfOverride ?? latest;

  const vitals: Partial<Record<VitalSignName, VitalSummary>> = {};
  if (asOf !== null) {
    for (const [sign, series] of Object.entries(readings) as [VitalSignName, readonly VitalReading[]][]) {
      vitals[sign] = summarizeSeries(sign, canonicalUnit(sign), series, asOf, config);
    }
  }
  const model: TwinModel = deepFreeze({
    asOf,
    ...clinicalLists(records),
    vitals,
    alerts: detectAlerts(inputs.series, config),
  });
  Object.freeze(readings);
  return Object.freeze({
    version,
    stateRoot: computeStateRoot({ config, model, records, readings }),
    sourcesRoot: computeSourcesRoot(inputs.sourceHashes),
    model,
    records,
    readings,
    sourceHashes: inputs.sourceHashes,
  });
}

/** Options of the one-shot build. */
export interface BuildTwinOptions extends TwinOptions {
  /** Content hashes (bytes32) of the source blobs behind the records and readings. */
  readonly sourceHashes?: readonly string[];
  /** The version number to stamp; 1 unless given. */
  readonly version?: number;
  /** End of the statistics windows (epoch ms); the latest reading time unless given. */
  readonly asOf?: number;
}

/**
 * Build a twin version in one go: pure, and independent of the order of `records`,
 * `readings` and `sourceHashes` (duplicates are ignored).
 */
export function buildTwinModel(
  records: readonly TwinRecord[],
  readings: readonly VitalReading[],
  options: BuildTwinOptions = {},
): TwinVersion {
  const { sourceHashes = [], version = 1, asOf, ...tuning } = options;
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new TwinEngineError("TWIN_INVALID_OPTIONS", "version must be a non-negative integer");
  }
  if (asOf !== undefined && (!Number.isSafeInteger(asOf) || asOf < 0)) {
    throw new TwinEngineError("TWIN_INVALID_OPTIONS", "asOf must be a non-negative integer of milliseconds");
  }
  const inputs = addBatch(NO_INPUTS, { records, readings, sourceHashes });
  return composeVersion(inputs, version, resolveConfig(tuning), asOf);
}
