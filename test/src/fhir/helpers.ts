import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { FhirValidationError } from "../../../src/fhir";
import type { TwinRecord } from "../../../src/fhir/records";

/** The repository root (this file is test/src/fhir/helpers.ts). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
/**
 * The published FHIR samples shared by the team, next to the repository (`../shared`), or next
 * to the directory of worktrees (`../../shared`), or where FHIR_SAMPLES_DIR says.
 */
export const SAMPLES_DIR =
  process.env.FHIR_SAMPLES_DIR ??
  [
    path.resolve(REPO_ROOT, "..", "shared", "fhir-samples"),
    path.resolve(REPO_ROOT, "..", "..", "shared", "fhir-samples"),
  ].find((dir) => fs.existsSync(dir)) ??
  path.resolve(REPO_ROOT, "..", "shared", "fhir-samples");

/** A sample file parsed as JSON (a fresh object on every call). */
export function sample(file: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, file), "utf8")) as Record<string, unknown>;
}

/** Runs `fn`, expects a FhirValidationError, and returns it. */
export function refused(fn: () => unknown): FhirValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(FhirValidationError);
    return error as FhirValidationError;
  }
  expect.fail("expected a FhirValidationError");
}

export function countBy<T>(items: readonly T[], key: (item: T) => string | number): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) {
    const k = String(key(item));
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

export function byKey(records: readonly TwinRecord[], key: string): TwinRecord {
  const record = records.find((r) => r.key === key);
  expect(record, `record ${key}`).to.not.equal(undefined);
  return record!;
}

/** A minimal valid vital-signs Observation to mutate in tests. */
export function vitalObservation(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: "Observation",
    id: "hr-1",
    status: "final",
    category: [
      { coding: [{ system: "http://terminology.hl7.org/CodeSystem/observation-category", code: "vital-signs" }] },
    ],
    code: { coding: [{ system: "http://loinc.org", code: "8867-4", display: "Heart rate" }] },
    subject: { reference: "Patient/p1" },
    effectiveDateTime: "2024-03-01T08:00:00Z",
    valueQuantity: { value: 72, unit: "beats/minute", system: "http://unitsofmeasure.org", code: "/min" },
    ...overrides,
  };
}

/** A collection Bundle of the given resources, with urn:uuid-free absolute fullUrls. */
export function collection(resources: readonly Record<string, unknown>[]): Record<string, unknown> {
  return {
    resourceType: "Bundle",
    type: "collection",
    entry: resources.map((resource) => ({
      fullUrl: `https://ehr.example.org/fhir/${String(resource.resourceType)}/${String(resource.id)}`,
      resource,
    })),
  };
}
