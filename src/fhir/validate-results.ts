import type { Checker, Json } from "./check";
import { System } from "./codes";
import type { QuantityFacts, ResourceFacts } from "./facts";
import { choiceTime } from "./validate-common";

/**
 * Required elements and value types of results: Observation (value[x], components, the
 * vital-signs rules vs-2 and vs-3, obs-6) and DiagnosticReport.
 */

const OBSERVATION_STATUS = [
  "registered",
  "preliminary",
  "final",
  "amended",
  "corrected",
  "cancelled",
  "entered-in-error",
  "unknown",
] as const;

const VALUE_TYPES = [
  "Quantity",
  "CodeableConcept",
  "String",
  "Boolean",
  "Integer",
  "Range",
  "Ratio",
  "SampledData",
  "Time",
  "DateTime",
  "Period",
] as const;

/** Checks value[x] of an Observation or component; returns the Quantity when it is one. */
function checkValue(c: Checker, o: Json, base: string): { key?: string; quantity?: QuantityFacts } {
  const key = c.choice(o, "value", base, VALUE_TYPES);
  if (key === undefined) return {};
  const path = `${base}.${key}`;
  const value = o[key];
  switch (key.slice(5)) {
    case "Quantity":
      return { key, quantity: { ...c.quantity(value, path), path } };
    case "CodeableConcept":
      c.codeableConcept(value, path, true);
      break;
    case "String":
      c.string(value, path);
      break;
    case "Boolean":
      c.boolean(value, path);
      break;
    case "Integer":
      c.integer(value, path);
      break;
    case "SampledData": {
      const sd = c.object(value, path);
      c.required(sd.origin, `${path}.origin`);
      c.quantity(sd.origin, `${path}.origin`);
      c.required(sd.period, `${path}.period`);
      c.decimal(sd.period, `${path}.period`);
      c.required(sd.dimensions, `${path}.dimensions`);
      c.integer(sd.dimensions, `${path}.dimensions`, 1);
      if (sd.factor !== undefined) c.decimal(sd.factor, `${path}.factor`);
      if (sd.lowerLimit !== undefined) c.decimal(sd.lowerLimit, `${path}.lowerLimit`);
      if (sd.upperLimit !== undefined) c.decimal(sd.upperLimit, `${path}.upperLimit`);
      if (sd.data !== undefined) {
        const data = c.string(sd.data, `${path}.data`);
        if (!/^\s*((-?\d+(\.\d+)?([eE][+-]?\d+)?|E|U|L)\s*)+$/.test(data)) {
          c.fail(`${path}.data`, "expected decimals or E/U/L separated by spaces");
        }
      }
      break;
    }
    case "Time":
      if (typeof value !== "string" || !/^([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?$/.test(value)) {
        c.fail(path, "expected a valid FHIR time");
      }
      break;
    case "DateTime":
      c.temporal(value, path, "dateTime");
      break;
    case "Period":
      c.period(value, path);
      break;
    default:
      c.object(value, path);
  }
  return { key };
}

export function checkObservation(o: Json, c: Checker, base: string): ResourceFacts {
  const status = c.code(o.status, `${base}.status`, OBSERVATION_STATUS);
  const categoryConcepts = c.each(o.category, `${base}.category`, (x, path) => c.codeableConcept(x, path, true));
  const categories = categoryConcepts.flatMap((cc) =>
    cc.codings.filter((x) => x.system === System.observationCategory && x.code !== undefined).map((x) => x.code!),
  );
  c.required(o.code, `${base}.code`);
  const main = c.codedConcept(o.code, `${base}.code`, true);
  if (o.subject !== undefined) c.reference(o.subject, `${base}.subject`);
  const effective = choiceTime(c, o, "effective", base, ["DateTime", "Period", "Timing", "Instant"]);
  const issued = c.optTemporal(o.issued, `${base}.issued`, "instant");
  const value = checkValue(c, o, base);
  if (o.dataAbsentReason !== undefined) {
    c.codeableConcept(o.dataAbsentReason, `${base}.dataAbsentReason`, true);
    if (value.key !== undefined) c.fail(`${base}.dataAbsentReason`, "must not be present with a value (obs-6)");
  }
  const vital = categories.includes("vital-signs");
  const components = c.each(o.component, `${base}.component`, (x, path) => {
    const comp = c.object(x, path);
    c.required(comp.code, `${path}.code`);
    const code = c.codedConcept(comp.code, `${path}.code`, true);
    const v = checkValue(c, comp, path);
    if (comp.dataAbsentReason !== undefined) {
      c.codeableConcept(comp.dataAbsentReason, `${path}.dataAbsentReason`, true);
      if (v.key !== undefined) c.fail(`${path}.dataAbsentReason`, "must not be present with a value (obs-6)");
    } else if (vital && v.key === undefined) {
      c.fail(path, "a vital-signs component needs a value or a dataAbsentReason (vs-3)");
    }
    return { code, quantity: v.quantity, path };
  });
  const hasMember = c.each(o.hasMember, `${base}.hasMember`, (x, path) => c.reference(x, path));
  if (
    vital &&
    value.key === undefined &&
    o.dataAbsentReason === undefined &&
    components.length === 0 &&
    hasMember.length === 0
  ) {
    c.fail(base, "a vital-signs observation needs a value, a dataAbsentReason, components or members (vs-2)");
  }
  const device = o.device === undefined ? undefined : c.reference(o.device, `${base}.device`);
  const extensions = c.each(o.extension, `${base}.extension`, (x, path) => c.object(x, path));
  const g = extensions.findIndex((e) => typeof e.url === "string" && e.url.endsWith("/observation-gatewayDevice"));
  const gatewayRef =
    g < 0 || extensions[g].valueReference === undefined
      ? undefined
      : c.reference(extensions[g].valueReference, `${base}.extension[${g}].valueReference`);
  return {
    resourceType: "Observation",
    status,
    effectiveAt: effective ?? issued,
    main,
    enteredInError: status === "entered-in-error",
    observation: {
      categories,
      quantity: value.quantity,
      components,
      time: effective ?? issued,
      device: device?.reference ?? gatewayRef?.reference,
      deviceSourced: device !== undefined || gatewayRef !== undefined,
    },
  };
}

export function checkDiagnosticReport(o: Json, c: Checker, base: string): ResourceFacts {
  const status = c.code(o.status, `${base}.status`, [
    "registered",
    "partial",
    "preliminary",
    "final",
    "amended",
    "corrected",
    "appended",
    "cancelled",
    "entered-in-error",
    "unknown",
  ]);
  const categories = c.each(o.category, `${base}.category`, (x, path) => c.codeableConcept(x, path, true));
  c.required(o.code, `${base}.code`);
  const main = c.codedConcept(o.code, `${base}.code`, true);
  if (o.subject !== undefined) c.reference(o.subject, `${base}.subject`);
  const effective = choiceTime(c, o, "effective", base, ["DateTime", "Period"]);
  const issued = c.optTemporal(o.issued, `${base}.issued`, "instant");
  c.each(o.result, `${base}.result`, (x, path) => c.reference(x, path));
  c.each(o.presentedForm, `${base}.presentedForm`, (x, path) => {
    const form = c.object(x, path);
    c.optCode(form.contentType, `${path}.contentType`);
    if (form.data !== undefined) {
      const data = c.string(form.data, `${path}.data`);
      if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(data)) c.fail(`${path}.data`, "expected base64");
    }
  });
  return {
    resourceType: "DiagnosticReport",
    status,
    effectiveAt: effective ?? issued,
    main,
    enteredInError: status === "entered-in-error",
    reportCategories: categories.flatMap((cc) =>
      cc.codings.filter((x) => x.code !== undefined).map((x) => `${x.system}|${x.code}`),
    ),
  };
}
