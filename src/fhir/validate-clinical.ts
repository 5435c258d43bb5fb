import type { Checker, Json } from "./check";
import type { Concept, ResourceFacts } from "./facts";
import { choiceTime, concept, firstCode, requiredReference } from "./validate-common";

/**
 * Required elements and value types of the clinical resources the twin models: Patient,
 * Encounter, Condition, MedicationRequest/Statement, Procedure, AllergyIntolerance, Immunization.
 */

export function checkPatient(o: Json, c: Checker, base: string): ResourceFacts {
  const active = o.active === undefined ? undefined : c.boolean(o.active, `${base}.active`);
  c.optCode(o.gender, `${base}.gender`, ["male", "female", "other", "unknown"]);
  c.optTemporal(o.birthDate, `${base}.birthDate`, "date");
  c.each(o.name, `${base}.name`, (n, path) => {
    const name = c.object(n, path);
    c.optString(name.family, `${path}.family`);
    c.each(name.given, `${path}.given`, (g, p) => c.string(g, p));
    c.optString(name.text, `${path}.text`);
  });
  choiceTime(c, o, "deceased", base, ["Boolean", "DateTime"]);
  c.each(o.identifier, `${base}.identifier`, (x, path) => c.object(x, path));
  c.each(o.telecom, `${base}.telecom`, (x, path) => c.object(x, path));
  c.each(o.address, `${base}.address`, (x, path) => c.object(x, path));
  return {
    resourceType: "Patient",
    status: active === undefined ? undefined : active ? "active" : "inactive",
    enteredInError: false,
  };
}

export function checkEncounter(o: Json, c: Checker, base: string): ResourceFacts {
  const status = c.code(o.status, `${base}.status`, [
    "planned",
    "arrived",
    "triaged",
    "in-progress",
    "onleave",
    "finished",
    "cancelled",
    "entered-in-error",
    "unknown",
  ]);
  c.required(o.class, `${base}.class`);
  c.coding(o.class, `${base}.class`, true);
  const types = c.each(o.type, `${base}.type`, (t, path) => c.codeableConcept(t, path, true));
  if (o.subject !== undefined) c.reference(o.subject, `${base}.subject`);
  const period = o.period === undefined ? undefined : c.period(o.period, `${base}.period`);
  c.each(o.reasonCode, `${base}.reasonCode`, (t, path) => c.codeableConcept(t, path, true));
  return {
    resourceType: "Encounter",
    status,
    effectiveAt: period?.start,
    main: types[0],
    enteredInError: status === "entered-in-error",
  };
}

export function checkCondition(o: Json, c: Checker, base: string): ResourceFacts {
  requiredReference(c, o, "subject", base);
  const main = concept(c, o.code, `${base}.code`);
  const clinical = concept(c, o.clinicalStatus, `${base}.clinicalStatus`, true);
  const verification = concept(c, o.verificationStatus, `${base}.verificationStatus`, true);
  c.each(o.category, `${base}.category`, (t, path) => c.codeableConcept(t, path, true));
  const onset = choiceTime(c, o, "onset", base, ["DateTime", "Age", "Period", "Range", "String"]);
  choiceTime(c, o, "abatement", base, ["DateTime", "Age", "Period", "Range", "String"]);
  const recorded = c.optTemporal(o.recordedDate, `${base}.recordedDate`, "dateTime");
  if (o.encounter !== undefined) c.reference(o.encounter, `${base}.encounter`);
  return {
    resourceType: "Condition",
    // No clinicalStatus (allowed when the condition is unconfirmed, or by sloppy exports) is not "active".
    status: firstCode(clinical) ?? "unknown",
    effectiveAt: onset ?? recorded,
    main,
    enteredInError: firstCode(verification) === "entered-in-error",
  };
}

const MEDICATION_REQUEST_STATUS = [
  "active",
  "on-hold",
  "cancelled",
  "completed",
  "entered-in-error",
  "stopped",
  "draft",
  "unknown",
] as const;
const MEDICATION_STATEMENT_STATUS = [
  "active",
  "completed",
  "entered-in-error",
  "intended",
  "stopped",
  "on-hold",
  "unknown",
  "not-taken",
] as const;

export function checkMedication(
  type: "MedicationRequest" | "MedicationStatement",
  o: Json,
  c: Checker,
  base: string,
): ResourceFacts {
  const request = type === "MedicationRequest";
  const status = c.code<string>(
    o.status,
    `${base}.status`,
    request ? MEDICATION_REQUEST_STATUS : MEDICATION_STATEMENT_STATUS,
  );
  if (request) {
    c.code(o.intent, `${base}.intent`, [
      "proposal",
      "plan",
      "order",
      "original-order",
      "reflex-order",
      "filler-order",
      "instance-order",
      "option",
    ]);
  }
  const key = c.choice(o, "medication", base, ["CodeableConcept", "Reference"]);
  if (key === undefined) c.fail(`${base}.medication[x]`, "required element is missing");
  let main: Concept | undefined;
  let display: string | undefined;
  let medicationReference: string | undefined;
  if (key === "medicationCodeableConcept") main = c.codedConcept(o[key], `${base}.${key}`, true);
  else {
    const ref = c.reference(o[key], `${base}.${key}`);
    display = ref.display;
    medicationReference = ref.reference;
  }
  requiredReference(c, o, "subject", base);
  const effectiveAt = request
    ? c.optTemporal(o.authoredOn, `${base}.authoredOn`, "dateTime")
    : (choiceTime(c, o, "effective", base, ["DateTime", "Period"]) ??
      c.optTemporal(o.dateAsserted, `${base}.dateAsserted`, "dateTime"));
  return {
    resourceType: type,
    status,
    effectiveAt,
    main,
    display,
    medicationReference,
    enteredInError: status === "entered-in-error",
  };
}

export function checkProcedure(o: Json, c: Checker, base: string): ResourceFacts {
  const status = c.code(o.status, `${base}.status`, [
    "preparation",
    "in-progress",
    "not-done",
    "on-hold",
    "stopped",
    "completed",
    "entered-in-error",
    "unknown",
  ]);
  requiredReference(c, o, "subject", base);
  const main = concept(c, o.code, `${base}.code`);
  const performed = choiceTime(c, o, "performed", base, ["DateTime", "Period", "String", "Age", "Range"]);
  return {
    resourceType: "Procedure",
    status,
    effectiveAt: performed,
    main,
    enteredInError: status === "entered-in-error",
  };
}

export function checkAllergy(o: Json, c: Checker, base: string): ResourceFacts {
  requiredReference(c, o, "patient", base);
  const clinical = concept(c, o.clinicalStatus, `${base}.clinicalStatus`, true);
  const verification = concept(c, o.verificationStatus, `${base}.verificationStatus`, true);
  c.optCode(o.type, `${base}.type`, ["allergy", "intolerance"]);
  c.each(o.category, `${base}.category`, (x, path) =>
    c.code(x, path, ["food", "medication", "environment", "biologic"]),
  );
  c.optCode(o.criticality, `${base}.criticality`, ["low", "high", "unable-to-assess"]);
  const code = concept(c, o.code, `${base}.code`);
  const substances = c.each(o.reaction, `${base}.reaction`, (x, path) => {
    const reaction = c.object(x, path);
    c.each(reaction.manifestation, `${path}.manifestation`, (m, mp) => c.codeableConcept(m, mp, true));
    return concept(c, reaction.substance, `${path}.substance`);
  });
  // Without a code, the allergen is what the reactions name as their substance.
  const main = code ?? substances.find((s) => s !== undefined);
  const onset = choiceTime(c, o, "onset", base, ["DateTime", "Age", "Period", "Range", "String"]);
  const recorded = c.optTemporal(o.recordedDate, `${base}.recordedDate`, "dateTime");
  return {
    resourceType: "AllergyIntolerance",
    status: firstCode(clinical),
    effectiveAt: onset ?? recorded,
    main,
    ...(code === undefined && main !== undefined ? { mainFrom: "reaction.substance" } : {}),
    enteredInError: firstCode(verification) === "entered-in-error",
  };
}

export function checkImmunization(o: Json, c: Checker, base: string): ResourceFacts {
  const status = c.code(o.status, `${base}.status`, ["completed", "entered-in-error", "not-done"]);
  c.required(o.vaccineCode, `${base}.vaccineCode`);
  const main = c.codedConcept(o.vaccineCode, `${base}.vaccineCode`, true);
  requiredReference(c, o, "patient", base);
  const key = c.choice(o, "occurrence", base, ["DateTime", "String"]);
  if (key === undefined) c.fail(`${base}.occurrence[x]`, "required element is missing");
  const effectiveAt = choiceTime(c, o, "occurrence", base, ["DateTime", "String"]);
  if (o.primarySource !== undefined) c.boolean(o.primarySource, `${base}.primarySource`);
  return { resourceType: "Immunization", status, effectiveAt, main, enteredInError: status === "entered-in-error" };
}
