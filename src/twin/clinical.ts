import type { Resource } from "@medplum/fhirtypes";
import type { RecordKind, TwinRecord } from "../fhir/records";
import type { Allergy, Medication, Problem, TimelineEvent, TimelineKind } from "./types";

/** Statuses that take a record out of every list. */
const WITHDRAWN = new Set(["entered-in-error"]);
/** Condition / allergy verification statuses that take it out of the lists. */
const REFUTED = new Set(["entered-in-error", "refuted"]);
/** Condition clinical statuses that count as resolved. */
const RESOLVED_CONDITION = new Set(["inactive", "remission", "resolved"]);
/** Condition clinical statuses that count as active. */
const ACTIVE_CONDITION = new Set(["active", "recurrence", "relapse"]);
const TIMELINE_KINDS = new Set<RecordKind>([
  "encounter",
  "procedure",
  "immunization",
  "diagnostic-report",
  "document",
  "family-history",
  "claim",
  "coverage",
]);

/** Whether records of a kind appear in a list or the timeline (the others are only counted). */
export function isListed(kind: RecordKind): boolean {
  return kind === "condition" || kind === "medication" || kind === "allergy" || TIMELINE_KINDS.has(kind);
}

export interface ClinicalLists {
  readonly problems: Problem[];
  readonly medications: Medication[];
  readonly allergies: Allergy[];
  readonly timeline: TimelineEvent[];
  readonly recordCounts: Partial<Record<RecordKind, number>>;
}

/** Epoch milliseconds of a FHIR date or dateTime, or null. */
export function timeOf(text: string | undefined): number | null {
  if (text === undefined) return null;
  const time = Date.parse(text);
  return Number.isNaN(time) ? null : time;
}

function verificationOf(resource: Resource): string | undefined {
  if (resource.resourceType !== "Condition" && resource.resourceType !== "AllergyIntolerance") return undefined;
  return resource.verificationStatus?.coding?.find((coding) => coding.code !== undefined)?.code;
}

function isWithdrawn(record: TwinRecord): boolean {
  const status = record.status?.toLowerCase();
  const verification = verificationOf(record.resource)?.toLowerCase();
  return (status !== undefined && WITHDRAWN.has(status)) || (verification !== undefined && REFUTED.has(verification));
}

/** The fields every entry copies from its record; absent ones stay absent. */
function entry(record: TwinRecord): Pick<Problem, "key" | "category" | "display" | "code" | "status"> {
  return {
    key: record.key,
    category: record.category,
    ...(record.display !== undefined && { display: record.display }),
    ...(record.code !== undefined && { code: record.code }),
    ...(record.status !== undefined && { status: record.status }),
  };
}

function problemOf(record: TwinRecord): Problem {
  const resource = record.resource;
  const abatement =
    resource.resourceType === "Condition" ? (resource.abatementDateTime ?? resource.abatementPeriod?.start) : undefined;
  const status = record.status?.toLowerCase();
  return {
    ...entry(record),
    state:
      status !== undefined && RESOLVED_CONDITION.has(status)
        ? "resolved"
        : status !== undefined && ACTIVE_CONDITION.has(status)
          ? "active"
          : "unknown",
    ...(record.effectiveAt !== undefined && { onset: record.effectiveAt }),
    onsetAt: timeOf(record.effectiveAt),
    ...(abatement !== undefined && { abatement }),
  };
}

function medicationOf(record: TwinRecord): Medication {
  const status = record.status?.toLowerCase();
  return {
    ...entry(record),
    active: status === undefined || status === "active",
    ...(record.effectiveAt !== undefined && { since: record.effectiveAt }),
    sinceAt: timeOf(record.effectiveAt),
  };
}

function allergyOf(record: TwinRecord): Allergy {
  const status = record.status?.toLowerCase();
  const criticality = record.resource.resourceType === "AllergyIntolerance" ? record.resource.criticality : undefined;
  return {
    ...entry(record),
    active: status === undefined || status === "active",
    ...(criticality !== undefined && { criticality }),
    ...(record.effectiveAt !== undefined && { recorded: record.effectiveAt }),
    recordedAt: timeOf(record.effectiveAt),
  };
}

function timelineEventOf(record: TwinRecord, kind: TimelineKind): TimelineEvent {
  const resource = record.resource;
  const end =
    resource.resourceType === "Encounter"
      ? resource.period?.end
      : resource.resourceType === "Procedure"
        ? resource.performedPeriod?.end
        : resource.resourceType === "Claim" || resource.resourceType === "ExplanationOfBenefit"
          ? resource.billablePeriod?.end
          : resource.resourceType === "Coverage"
            ? resource.period?.end
            : undefined;
  return {
    ...entry(record),
    kind,
    ...(record.effectiveAt !== undefined && { start: record.effectiveAt }),
    startAt: timeOf(record.effectiveAt),
    ...(end !== undefined && { end }),
    ...(record.results !== undefined && { results: record.results }),
  };
}

/** Order by time (undated last), then key. */
function byTimeThenKey<T extends { readonly key: string }>(timeOfEntry: (item: T) => number | null) {
  return (a: T, b: T): number => {
    const ta = timeOfEntry(a);
    const tb = timeOfEntry(b);
    if (ta !== tb) {
      if (ta === null) return 1;
      if (tb === null) return -1;
      return ta - tb;
    }
    return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  };
}

/**
 * Problem list, medications, allergies and timeline from the effective records. Records whose
 * status is entered-in-error, or whose verification status is refuted or entered-in-error,
 * are counted but not listed.
 */
export function clinicalLists(records: readonly TwinRecord[]): ClinicalLists {
  const lists: ClinicalLists = { problems: [], medications: [], allergies: [], timeline: [], recordCounts: {} };
  for (const record of records) {
    lists.recordCounts[record.kind] = (lists.recordCounts[record.kind] ?? 0) + 1;
    if (isWithdrawn(record)) continue;
    if (record.kind === "condition") lists.problems.push(problemOf(record));
    else if (record.kind === "medication") lists.medications.push(medicationOf(record));
    else if (record.kind === "allergy") lists.allergies.push(allergyOf(record));
    else if (TIMELINE_KINDS.has(record.kind)) lists.timeline.push(timelineEventOf(record, record.kind as TimelineKind));
  }
  lists.problems.sort(byTimeThenKey((p) => p.onsetAt));
  lists.medications.sort(byTimeThenKey((m) => m.sinceAt));
  lists.allergies.sort(byTimeThenKey((a) => a.recordedAt));
  lists.timeline.sort(byTimeThenKey((e) => e.startAt));
  return lists;
}
