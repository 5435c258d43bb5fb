import type { Resource } from "@medplum/fhirtypes";
import { keccak256, toUtf8Bytes } from "ethers";
import type { RecordKind, TwinRecord, VitalReading, VitalSignName } from "../../../src/fhir/records";
import { canonicalUnit } from "../../../src/twin";
import { DataCategory, type DataCategoryBit } from "../../../src/vocabulary";

/** Small typed builders of the twin engine's inputs; no dependency on the fhir ingest module. */

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
/** Monday 5 January 2026, 08:00 UTC. */
export const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);

const PATIENT = { reference: "Patient/p1" };

interface Meta {
  readonly lastUpdated?: string;
  readonly versionId?: string;
}

function concept(code: string | undefined, display: string | undefined) {
  return code === undefined && display === undefined
    ? undefined
    : { coding: [{ system: "http://snomed.info/sct", code, display }], text: display };
}

function status(code: string | undefined) {
  return code === undefined ? undefined : { coding: [{ code }] };
}

function record(
  kind: RecordKind,
  category: DataCategoryBit,
  resource: Resource,
  fields: { effectiveAt?: string; display?: string; code?: string; status?: string },
): TwinRecord {
  return {
    key: `${resource.resourceType}/${resource.id}`,
    kind,
    category,
    resource,
    ...(fields.effectiveAt !== undefined && { effectiveAt: fields.effectiveAt }),
    ...(fields.display !== undefined && { display: fields.display }),
    ...(fields.code !== undefined && { code: `http://snomed.info/sct|${fields.code}` }),
    ...(fields.status !== undefined && { status: fields.status }),
  };
}

export function condition(
  id: string,
  opts: {
    display?: string;
    code?: string;
    status?: string;
    onset?: string;
    abatement?: string;
    verification?: string;
  } & Meta = {},
): TwinRecord {
  return record(
    "condition",
    DataCategory.CONDITIONS,
    {
      resourceType: "Condition",
      id,
      meta: { lastUpdated: opts.lastUpdated, versionId: opts.versionId },
      subject: PATIENT,
      clinicalStatus: status(opts.status),
      verificationStatus: status(opts.verification),
      code: concept(opts.code, opts.display),
      onsetDateTime: opts.onset,
      abatementDateTime: opts.abatement,
    },
    { effectiveAt: opts.onset, display: opts.display, code: opts.code, status: opts.status },
  );
}

export function medication(
  id: string,
  opts: {
    display?: string;
    status?: "active" | "on-hold" | "completed" | "stopped" | "entered-in-error";
    since?: string;
  } & Meta = {},
): TwinRecord {
  return record(
    "medication",
    DataCategory.MEDICATIONS,
    {
      resourceType: "MedicationRequest",
      id,
      meta: { lastUpdated: opts.lastUpdated, versionId: opts.versionId },
      status: opts.status ?? "active",
      intent: "order",
      subject: PATIENT,
      medicationCodeableConcept: concept(undefined, opts.display),
      authoredOn: opts.since,
    },
    { effectiveAt: opts.since, display: opts.display, status: opts.status ?? "active" },
  );
}

export function allergy(
  id: string,
  opts: { display?: string; status?: string; criticality?: "low" | "high"; recorded?: string } = {},
): TwinRecord {
  return record(
    "allergy",
    DataCategory.ALLERGIES,
    {
      resourceType: "AllergyIntolerance",
      id,
      patient: PATIENT,
      clinicalStatus: status(opts.status),
      criticality: opts.criticality,
      code: concept(undefined, opts.display),
      recordedDate: opts.recorded,
    },
    { effectiveAt: opts.recorded, display: opts.display, status: opts.status },
  );
}

export function encounter(id: string, start?: string, end?: string): TwinRecord {
  return record(
    "encounter",
    DataCategory.ENCOUNTERS,
    {
      resourceType: "Encounter",
      id,
      status: "finished",
      class: { code: "AMB" },
      period: start === undefined ? undefined : { start, end },
    },
    { effectiveAt: start, status: "finished", display: "Outpatient visit" },
  );
}

export function procedure(id: string, performed?: string): TwinRecord {
  return record(
    "procedure",
    DataCategory.PROCEDURES,
    { resourceType: "Procedure", id, status: "completed", subject: PATIENT, performedDateTime: performed },
    { effectiveAt: performed, status: "completed", display: "Appendectomy" },
  );
}

export function immunization(id: string, date?: string): TwinRecord {
  return record(
    "immunization",
    DataCategory.PROCEDURES,
    {
      resourceType: "Immunization",
      id,
      status: "completed",
      vaccineCode: { text: "Influenza vaccine" },
      patient: PATIENT,
      occurrenceDateTime: date,
    },
    { effectiveAt: date, status: "completed", display: "Influenza vaccine" },
  );
}

export function lab(id: string): TwinRecord {
  return record(
    "lab",
    DataCategory.LABS,
    { resourceType: "Observation", id, status: "final", code: { text: "HbA1c" } },
    { status: "final" },
  );
}

/** One reading, in the sign's canonical unit unless told. */
export function reading(
  sign: VitalSignName,
  value: number,
  at: number,
  opts: { unit?: string; source?: string; category?: DataCategoryBit; recordKey?: string } = {},
): VitalReading {
  return {
    sign,
    value,
    unit: opts.unit ?? canonicalUnit(sign),
    at,
    ...(opts.source !== undefined && { source: opts.source }),
    ...(opts.category !== undefined && { category: opts.category }),
    ...(opts.recordKey !== undefined && { recordKey: opts.recordKey }),
  };
}

/** Readings `values[i]` at `start + i * stepMs`. */
export function series(
  sign: VitalSignName,
  start: number,
  stepMs: number,
  values: readonly number[],
  opts: { source?: string } = {},
): VitalReading[] {
  return values.map((value, i) => reading(sign, value, start + i * stepMs, opts));
}

/** `count` copies of `value`. */
export function repeat(value: number, count: number): number[] {
  return Array.from({ length: count }, () => value);
}

/** A deterministic bytes32 content hash for a label. */
export function sourceHash(label: string): string {
  return keccak256(toUtf8Bytes(`blob:${label}`));
}

/** ISO text of an epoch time. */
export function iso(at: number): string {
  return new Date(at).toISOString();
}

/** The Observation record ingest makes for a wearable reading, and the reading pointing at it. */
export function vitalObservation(r: VitalReading, id: string): { record: TwinRecord; reading: VitalReading } {
  const key = `Observation/${id}`;
  const effectiveAt = iso(r.at);
  const record = vitalRecord(key, id, r, effectiveAt);
  return { record, reading: { ...r, category: DataCategory.WEARABLE_STREAMS, recordKey: key } };
}

function vitalRecord(key: string, id: string, r: VitalReading, effectiveAt: string): TwinRecord {
  return {
    key,
    kind: "vital",
    category: DataCategory.WEARABLE_STREAMS,
    effectiveAt,
    display: r.sign,
    status: "final",
    resource: {
      resourceType: "Observation",
      id,
      status: "final",
      category: [
        { coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "vital-signs" }] },
      ],
      code: { coding: [{ system: "http://loinc.org", code: "0000-0", display: r.sign }] },
      subject: PATIENT,
      effectiveDateTime: effectiveAt,
      valueQuantity: { value: r.value, unit: r.unit, system: "http://unitsofmeasure.org", code: r.unit },
      device: r.source === undefined ? undefined : { reference: r.source },
    },
  };
}
