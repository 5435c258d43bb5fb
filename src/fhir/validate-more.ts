import type { Checker, Json } from "./check";
import type { Concept, ResourceFacts } from "./facts";
import { concept, requiredReference } from "./validate-common";

/**
 * Required elements and value types of the resources added for real exports: Medication (names
 * of referenced medicines), FamilyMemberHistory, DocumentReference (notes and attachments, whose
 * URLs are never fetched), Claim, ExplanationOfBenefit and Coverage (insurance).
 */

const FINANCIAL_STATUS = ["active", "cancelled", "draft", "entered-in-error"] as const;
const USE = ["claim", "preauthorization", "predetermination"] as const;

export function checkMedicationResource(o: Json, c: Checker, base: string): ResourceFacts {
  const status = c.optCode(o.status, `${base}.status`, ["active", "inactive", "entered-in-error"]);
  const main = concept(c, o.code, `${base}.code`);
  if (o.form !== undefined) c.codeableConcept(o.form, `${base}.form`, true);
  c.each(o.ingredient, `${base}.ingredient`, (x, path) => {
    const ingredient = c.object(x, path);
    c.choice(ingredient, "item", path, ["CodeableConcept", "Reference"]);
  });
  return { resourceType: "Medication", status, main, enteredInError: status === "entered-in-error" };
}

export function checkFamilyMemberHistory(o: Json, c: Checker, base: string): ResourceFacts {
  const status = c.code(o.status, `${base}.status`, ["partial", "completed", "entered-in-error", "health-unknown"]);
  requiredReference(c, o, "patient", base);
  c.required(o.relationship, `${base}.relationship`);
  const relationship = c.codeableConcept(o.relationship, `${base}.relationship`, true);
  const date = c.optTemporal(o.date, `${base}.date`, "dateTime");
  const conditions = c.each(o.condition, `${base}.condition`, (x, path) => {
    const condition = c.object(x, path);
    c.required(condition.code, `${path}.code`);
    return c.codeableConcept(condition.code, `${path}.code`, true);
  });
  const name = (cc: Concept): string | undefined => cc.text ?? cc.codings.find((x) => x.display)?.display;
  const who = name(relationship);
  const what = conditions.map(name).filter((x): x is string => x !== undefined);
  return {
    resourceType: "FamilyMemberHistory",
    status,
    effectiveAt: date,
    main: conditions[0] ?? relationship,
    display: who !== undefined && what.length > 0 ? `${who}: ${what.join(", ")}` : who,
    enteredInError: status === "entered-in-error",
  };
}

export function checkDocumentReference(o: Json, c: Checker, base: string): ResourceFacts {
  const status = c.code(o.status, `${base}.status`, ["current", "superseded", "entered-in-error"]);
  c.optCode(o.docStatus, `${base}.docStatus`, ["preliminary", "final", "amended", "entered-in-error"]);
  const type = concept(c, o.type, `${base}.type`);
  const categories = c.each(o.category, `${base}.category`, (x, path) => c.codeableConcept(x, path, true));
  if (o.subject !== undefined) c.reference(o.subject, `${base}.subject`);
  const date = c.optTemporal(o.date, `${base}.date`, "instant");
  c.required(o.content, `${base}.content`);
  c.each(o.content, `${base}.content`, (x, path) => {
    const content = c.object(x, path);
    c.required(content.attachment, `${path}.attachment`);
    const attachment = c.object(content.attachment, `${path}.attachment`);
    const at = `${path}.attachment`;
    c.optCode(attachment.contentType, `${at}.contentType`);
    if (attachment.data !== undefined) {
      const data = c.string(attachment.data, `${at}.data`);
      if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(data)) c.fail(`${at}.data`, "expected base64");
    }
    // A URL is kept as text and never fetched: ingest reads nothing but its input.
    if (attachment.url !== undefined) c.uri(attachment.url, `${at}.url`);
    if (attachment.size !== undefined) c.integer(attachment.size, `${at}.size`, 0);
    c.optTemporal(attachment.creation, `${at}.creation`, "dateTime");
    if (content.format !== undefined) c.coding(content.format, `${path}.format`);
  });
  let period: string | undefined;
  if (o.context !== undefined) {
    const context = c.object(o.context, `${base}.context`);
    if (context.period !== undefined) period = c.period(context.period, `${base}.context.period`).start;
  }
  const documentCodes = [type, ...categories].flatMap((cc) =>
    (cc?.codings ?? []).filter((x) => x.code !== undefined).map((x) => `${x.system}|${x.code}`),
  );
  return {
    resourceType: "DocumentReference",
    status,
    effectiveAt: period ?? date,
    main: type ?? categories[0],
    enteredInError: status === "entered-in-error",
    documentCodes,
  };
}

/**
 * What Claim and ExplanationOfBenefit share, checked in this order: status, type, use, patient, billablePeriod,
 * created; their facts (effective at the billable period's start, else at creation).
 */
function checkBilling(
  o: Json,
  c: Checker,
  base: string,
  resourceType: "Claim" | "ExplanationOfBenefit",
): ResourceFacts {
  const status = c.code(o.status, `${base}.status`, FINANCIAL_STATUS);
  c.required(o.type, `${base}.type`);
  const type = c.codeableConcept(o.type, `${base}.type`, true);
  c.code(o.use, `${base}.use`, USE);
  requiredReference(c, o, "patient", base);
  const billable = o.billablePeriod === undefined ? undefined : c.period(o.billablePeriod, `${base}.billablePeriod`);
  c.required(o.created, `${base}.created`);
  const created = c.temporal(o.created, `${base}.created`, "dateTime");
  return {
    resourceType,
    status,
    effectiveAt: billable?.start ?? created,
    main: type,
    enteredInError: status === "entered-in-error",
  };
}

export function checkClaim(o: Json, c: Checker, base: string): ResourceFacts {
  const facts = checkBilling(o, c, base, "Claim");
  checkMoney(c, o.total, `${base}.total`);
  return facts;
}

export function checkExplanationOfBenefit(o: Json, c: Checker, base: string): ResourceFacts {
  const facts = checkBilling(o, c, base, "ExplanationOfBenefit");
  c.code(o.outcome, `${base}.outcome`, ["queued", "complete", "error", "partial"]);
  c.each(o.total, `${base}.total`, (x, path) => {
    const total = c.object(x, path);
    c.required(total.amount, `${path}.amount`);
    checkMoney(c, total.amount, `${path}.amount`);
  });
  return facts;
}

export function checkCoverage(o: Json, c: Checker, base: string): ResourceFacts {
  const status = c.code(o.status, `${base}.status`, FINANCIAL_STATUS);
  const type = concept(c, o.type, `${base}.type`);
  requiredReference(c, o, "beneficiary", base);
  const period = o.period === undefined ? undefined : c.period(o.period, `${base}.period`);
  c.each(o.payor, `${base}.payor`, (x, path) => c.reference(x, path));
  return {
    resourceType: "Coverage",
    status,
    effectiveAt: period?.start,
    main: type,
    enteredInError: status === "entered-in-error",
  };
}

function checkMoney(c: Checker, value: unknown, path: string): void {
  if (value === undefined) return;
  const money = c.object(value, path);
  if (money.value !== undefined) c.decimal(money.value, `${path}.value`);
  c.optCode(money.currency, `${path}.currency`);
}
