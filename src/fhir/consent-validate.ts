import type { Consent } from "@medplum/fhirtypes";
import { Checker, type Json } from "./check";
import { FhirLimitError } from "./errors";
import { DEFAULT_LIMITS, scanResource } from "./limits";
import { checkCommon } from "./validate-common";

/** Structural validation of an R4 Consent; a malformed one is refused with FHIR_INVALID. */
export function validateConsent(input: unknown): Consent {
  const first: Checker = new Checker("Consent", undefined);
  const o = first.object(input, "Consent");
  if (o.resourceType !== "Consent") first.fail("Consent.resourceType", "expected a Consent");
  const c = new Checker("Consent", typeof o.id === "string" ? o.id : undefined);
  const id = c.resourceId;
  const scan = scanResource(o, "Consent", DEFAULT_LIMITS, (path, limit, max) => {
    throw new FhirLimitError(path, "Consent", limit, max, id);
  });
  checkCommon(o, c, "Consent", scan.references);
  c.code(o.status, "Consent.status", ["draft", "proposed", "active", "rejected", "inactive", "entered-in-error"]);
  c.required(o.scope, "Consent.scope");
  c.codeableConcept(o.scope, "Consent.scope", true);
  c.required(o.category, "Consent.category");
  c.each(o.category, "Consent.category", (x, path) => c.codeableConcept(x, path, true));
  if (o.patient !== undefined) c.reference(o.patient, "Consent.patient");
  c.optTemporal(o.dateTime, "Consent.dateTime", "dateTime");
  c.each(o.performer, "Consent.performer", (x, path) => c.reference(x, path));
  c.each(o.organization, "Consent.organization", (x, path) => c.reference(x, path));
  c.each(o.policy, "Consent.policy", (x, path) => {
    const policy = c.object(x, path);
    if (policy.authority !== undefined) c.uri(policy.authority, `${path}.authority`);
    if (policy.uri !== undefined) c.uri(policy.uri, `${path}.uri`);
  });
  if (o.policyRule !== undefined) c.codeableConcept(o.policyRule, "Consent.policyRule", true);
  if (o.policy === undefined && o.policyRule === undefined)
    c.fail("Consent.policyRule", "a Consent needs a policy or a policyRule (ppc-1)");
  if (o.provision !== undefined) checkProvision(c, o.provision, "Consent.provision", false);
  return o as unknown as Consent;
}

function checkProvision(c: Checker, value: unknown, path: string, nested: boolean): void {
  const p: Json = c.object(value, path);
  if (nested) c.required(p.type, `${path}.type`);
  c.optCode(p.type, `${path}.type`, ["deny", "permit"]);
  if (p.period !== undefined) c.period(p.period, `${path}.period`);
  c.each(p.actor, `${path}.actor`, (x, ap) => {
    const actor = c.object(x, ap);
    c.required(actor.role, `${ap}.role`);
    c.codeableConcept(actor.role, `${ap}.role`, true);
    c.required(actor.reference, `${ap}.reference`);
    c.reference(actor.reference, `${ap}.reference`);
  });
  c.each(p.action, `${path}.action`, (x, ap) => c.codedConcept(x, ap));
  c.each(p.securityLabel, `${path}.securityLabel`, (x, ap) => c.coding(x, ap, true, true));
  c.each(p.purpose, `${path}.purpose`, (x, ap) => c.coding(x, ap, true, true));
  c.each(p.class, `${path}.class`, (x, ap) => {
    const coding = c.coding(x, ap);
    if (coding.code === undefined) c.fail(`${ap}.code`, "a class needs a code");
  });
  c.each(p.code, `${path}.code`, (x, ap) => c.codedConcept(x, ap));
  if (p.dataPeriod !== undefined) c.period(p.dataPeriod, `${path}.dataPeriod`);
  c.each(p.data, `${path}.data`, (x, ap) => {
    const data = c.object(x, ap);
    c.code(data.meaning, `${ap}.meaning`, ["instance", "related", "dependents", "authoredby"]);
    c.required(data.reference, `${ap}.reference`);
    c.reference(data.reference, `${ap}.reference`);
  });
  c.each(p.provision, `${path}.provision`, (x, ap) => checkProvision(c, x, ap, true));
}
