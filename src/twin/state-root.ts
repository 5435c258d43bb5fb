import type { TwinRecord, VitalReading, VitalSignName } from "../fhir/records";
import { canonicalHash, canonicalJson, canonicalNumber, keccakUtf8 } from "./canonical";
import type { ResolvedConfig } from "./config";
import { recordDigest } from "./record-set";
import type { Bytes32, TwinModel } from "./types";

/** Schema tag inside every state document; bump it when the document's shape changes. */
export const STATE_SCHEMA = "twinledger/twin-state/v1";

/** What a state root commits to. */
export interface StateParts {
  readonly config: ResolvedConfig;
  readonly model: TwinModel;
  readonly records: readonly TwinRecord[];
  readonly readings: Readonly<Partial<Record<VitalSignName, readonly VitalReading[]>>>;
}

const seriesDigests = new WeakMap<readonly VitalReading[], Bytes32>();
const configDigests = new WeakMap<ResolvedConfig, Bytes32>();

/** keccak256 of the canonical JSON of the resolved options. Cached per (frozen) config. */
export function configDigest(config: ResolvedConfig): Bytes32 {
  let digest = configDigests.get(config);
  if (digest === undefined) {
    digest = canonicalHash(config);
    configDigests.set(config, digest);
  }
  return digest;
}

/**
 * keccak256 of the canonical JSON of a sign's series, an array of
 * `[at, value, source|null, category|null, recordKey|null]`
 * in series order (the unit is the sign's canonical unit). Cached per (immutable) series.
 */
export function seriesDigest(series: readonly VitalReading[]): Bytes32 {
  let digest = seriesDigests.get(series);
  if (digest === undefined) {
    // Written directly rather than through canonicalJson: the same text, several times faster.
    const parts = new Array<string>(series.length);
    for (let i = 0; i < series.length; i++) parts[i] = readingText(series[i]);
    digest = keccakUtf8(`[${parts.join(",")}]`);
    seriesDigests.set(series, digest);
  }
  return digest;
}

/** One reading's item in the series digest's text. */
export function readingText(r: VitalReading): string {
  return (
    `[${r.at},${canonicalNumber(r.value)},${r.source === undefined ? "null" : JSON.stringify(r.source)},` +
    `${r.category ?? "null"},${r.recordKey === undefined ? "null" : JSON.stringify(r.recordKey)}]`
  );
}

/** Records a digest computed elsewhere (the incremental engine's) for a series array. */
export function rememberSeriesDigest(series: readonly VitalReading[], digest: Bytes32): void {
  seriesDigests.set(series, digest);
}

/** A sign's entry in the state document. */
export interface SeriesEntry {
  readonly count: number;
  readonly digest: Bytes32;
}

/**
 * The state document:
 *
 * ```
 * {
 *   "schema":   "twinledger/twin-state/v1",
 *   "config":   keccak256(canonical(resolved options)),   // which rules and windows made the model
 *   "model":    the TwinModel,                            // lists, vitals, alerts
 *   "records":  [[key, keccak256(canonical(record))], …]  // effective non-vital records by key
 *   "readings": { sign: { "count": n, "digest": seriesDigest } }
 * }
 * ```
 *
 * Records of kind `vital` (one per wearable or bedside Observation, thousands a day) are not
 * listed: the twin uses them only through their readings, which the readings digests cover
 * with their record key; hashing every such resource would cost more than the whole model.
 * Every record's source blob is covered by the sources root in any case.
 *
 * The version number is not in it: it is committed beside the roots, and equal content gives
 * an equal root whichever version it lands in.
 */
export function stateDocument(parts: StateParts): unknown {
  const readings: Record<string, SeriesEntry> = {};
  for (const [sign, series] of Object.entries(parts.readings)) {
    if (series !== undefined && series.length > 0)
      readings[sign] = { count: series.length, digest: seriesDigest(series) };
  }
  return documentOf(parts.config, parts.model, recordEntries(parts.records), readings);
}

/** The `records` member: `[key, digest]` of the non-vital records, in the given (key) order. */
export function recordEntries(records: readonly TwinRecord[]): [string, Bytes32][] {
  return records.filter((record) => record.kind !== "vital").map((record) => [record.key, recordDigest(record)]);
}

/** The state document from its parts, the records and readings members already made. */
export function documentOf(
  config: ResolvedConfig,
  model: TwinModel,
  records: readonly (readonly [string, Bytes32])[],
  readings: Readonly<Record<string, SeriesEntry>>,
): unknown {
  return { schema: STATE_SCHEMA, config: configDigest(config), model, records, readings };
}

/** The canonical JSON text of the state document. */
export function canonicalState(parts: StateParts): string {
  return canonicalJson(stateDocument(parts));
}

/** keccak256 of the UTF-8 canonical state document. */
export function computeStateRoot(parts: StateParts): Bytes32 {
  return canonicalHash(stateDocument(parts));
}
