import { isAddress } from "ethers";
import type { DeviceRegistry } from "../../typechain-types";
import type { VitalReading } from "../fhir/records";
import type { TwinDataReader } from "../pipeline/reader";
import type { CodedEntry, CohortQuery, CohortTwin } from "../research";
import { DataCategory } from "../vocabulary";

/**
 * What the gateway hands the research module (src/research/cohort.ts) for a cohort query: the enrolled twins it holds,
 * read through the pipeline's `TwinDataReader`, and the devices flagged on chain.
 *
 * - A twin contributes only with its state as committed at or before the block asked: its state root (a leaf of the
 *   contributor commitment) is then the one anchored at that block. A twin this gateway holds only in a later
 *   committed version, or not at all (another custodian's), or never committed, is left out.
 * - Only the readings of categories the study may read: a reading without a category counts as VITALS; a wearable
 *   reading (WEARABLE_STREAMS) only when the study lists that category.
 */

/** The twins of a query, and the categories each twin's data was read under (for its access-log entry). */
export interface CohortInputs {
  readonly twins: readonly CohortTwin[];
  /** Per twin id (lower case): the DataCategory bits of what was read. */
  readonly categories: ReadonlyMap<string, number>;
}

/** A coded record's code and time, for condition and medication queries. */
function codedEntries(records: readonly { record: { code?: string; effectiveAt?: string } }[]): CodedEntry[] {
  const entries: CodedEntry[] = [];
  for (const { record } of records) {
    if (record.code === undefined) continue;
    const at = record.effectiveAt === undefined ? NaN : Date.parse(record.effectiveAt);
    entries.push({ code: record.code, at: Number.isFinite(at) ? at : null });
  }
  return entries;
}

/** One twin's view for the query, or null when it cannot contribute (see the module comment). */
async function cohortTwinOf(
  data: TwinDataReader,
  twinId: string,
  query: CohortQuery,
  atBlock: number,
  studyCategories: number,
): Promise<{ twin: CohortTwin; categories: number } | null> {
  if (data.holding(twinId) !== "active") return null;
  const anchor = data.version(twinId).anchor;
  if (anchor === null || anchor.blockNumber > atBlock) return null;
  const base = { twinId, stateRoot: anchor.stateRoot, vitals: [], conditions: [], medications: [] };
  const { subject, window } = query;
  if (subject.kind === "vital") {
    const proven = await data.readings(twinId, { signs: [subject.sign], from: window.from, to: window.to });
    const vitals: VitalReading[] = [];
    let categories = 0;
    for (const { reading } of proven) {
      const category = reading.category ?? DataCategory.VITALS;
      if ((category & studyCategories) === 0) continue;
      vitals.push(reading);
      categories |= category;
    }
    return { twin: { ...base, vitals }, categories: categories === 0 ? DataCategory.VITALS : categories };
  }
  const category = subject.kind === "condition" ? DataCategory.CONDITIONS : DataCategory.MEDICATIONS;
  const entries = codedEntries(await data.records(twinId, category));
  const twin = subject.kind === "condition" ? { ...base, conditions: entries } : { ...base, medications: entries };
  return { twin, categories: category };
}

/** The enrolled twins' views for the query, read one twin after another (the pipeline serves reads in order). */
export async function cohortInputsOf(
  data: TwinDataReader,
  twinIds: readonly string[],
  query: CohortQuery,
  atBlock: number,
  studyCategories: number,
): Promise<CohortInputs> {
  const twins: CohortTwin[] = [];
  const categories = new Map<string, number>();
  for (const twinId of twinIds) {
    const found = await cohortTwinOf(data, twinId, query, atBlock, studyCategories);
    if (found === null) continue;
    twins.push(found.twin);
    categories.set(twinId.toLowerCase(), found.categories);
  }
  return { twins, categories };
}

/**
 * The reading sources among the twins' vitals that DeviceRegistry flags at the head (recalled, calibration expired):
 * a flag found later still sets aside the readings the device made before it. Sources that are not device addresses
 * (an EMR reference such as `Device/x`) are not on chain and never flagged.
 */
export async function flaggedDevicesOf(devices: DeviceRegistry, twins: readonly CohortTwin[]): Promise<Set<string>> {
  const sources = new Set<string>();
  for (const twin of twins) {
    for (const r of twin.vitals) if (r.source !== undefined && isAddress(r.source)) sources.add(r.source);
  }
  const list = [...sources];
  const flags = await Promise.all(list.map((s) => devices.flagOf(s, { blockTag: "latest" })));
  return new Set(list.filter((_, i) => flags[i][0] !== 0n));
}
