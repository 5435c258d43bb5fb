import type { DataCategoryBit } from "../vocabulary";
import type { Checker } from "./check";
import { signOf } from "./classify";
import { System } from "./codes";
import type { IngestWarning, VitalReading, VitalSignName } from "./records";
import { fhirTimeStart } from "./time";
import { SIGN_UNITS, hasUnbalancedBraces, toCanonical } from "./units";
import type { QuantityFacts, ResourceFacts } from "./facts";

/** Where a reading goes and where it came from. */
export interface ReadingContext {
  readonly category: DataCategoryBit;
  readonly recordKey: string;
  /** Used when the Observation names no device. */
  readonly source?: string;
  readonly base: string;
}

/**
 * The readings of a modelled Observation: its own value when its code is a followed vital sign,
 * and each component that is one (blood pressure gives systolic and diastolic). Values are
 * converted to the sign's canonical unit (see units.ts); a unit that cannot be converted, a
 * value outside the plausible range or a missing time refuses the input. A quantity with a
 * comparator (a bound such as `>250`) or without a value is no reading, with a warning.
 */
export function readingsOf(
  facts: ResourceFacts,
  ctx: ReadingContext,
  c: Checker,
  warnings: IngestWarning[],
): VitalReading[] {
  const obs = facts.observation;
  if (obs === undefined) return [];
  const measured: { sign: VitalSignName; quantity: QuantityFacts }[] = [];
  const sign = signOf(facts.main);
  if (sign !== undefined && sign !== "bloodPressure" && obs.quantity !== undefined) {
    measured.push({ sign, quantity: obs.quantity });
  }
  for (const component of obs.components) {
    const componentSign = signOf(component.code);
    if (componentSign !== undefined && componentSign !== "bloodPressure" && component.quantity !== undefined) {
      measured.push({ sign: componentSign, quantity: component.quantity });
    }
  }
  // A bound (`>200`) or a quantity without its value (data absent) is kept in the record, never a reading.
  const readable = measured.filter(({ sign: s, quantity: q }) => {
    if (q.comparator === undefined && q.value !== undefined) return true;
    warnings.push({
      path: q.comparator !== undefined ? `${q.path}.comparator` : `${q.path}.value`,
      message: `${ctx.recordKey}: a ${s} quantity ${q.comparator !== undefined ? "with a comparator is a bound" : "without a value is"} not a reading`,
    });
    return false;
  });
  measured.length = 0;
  measured.push(...readable);
  if (measured.length === 0) return [];
  if (obs.time === undefined) c.fail(`${ctx.base}.effective[x]`, "a vital-sign reading needs effective[x] or issued");
  const at = fhirTimeStart(obs.time);
  const source = obs.device ?? ctx.source;
  return measured.map(({ sign: s, quantity: q }) => {
    if (q.value === undefined) c.fail(`${q.path}.value`, `a ${s} quantity needs a value`); // filtered above
    const ucum = q.code !== undefined && q.system === System.ucum ? q.code : undefined;
    const outcome = toCanonical(s, q.value, ucum, ucum === undefined ? q.unit : undefined);
    if (!outcome.ok) {
      if (outcome.fault === "range") {
        c.fail(`${q.path}.value`, `value outside the plausible range for ${s} (${SIGN_UNITS[s].canonical})`);
      }
      const where = q.code !== undefined ? "code" : q.unit !== undefined ? "unit" : "";
      c.fail(where ? `${q.path}.${where}` : q.path, `unit cannot be converted to ${SIGN_UNITS[s].canonical} for ${s}`);
    }
    if (ucum !== undefined && q.unit !== undefined && hasUnbalancedBraces(q.unit)) {
      warnings.push({
        path: `${q.path}.unit`,
        message: `${ctx.recordKey}: unit display is malformed; the UCUM code was used`,
      });
    }
    const reading: VitalReading = {
      sign: s,
      value: outcome.value,
      unit: outcome.unit,
      at,
      ...(source !== undefined ? { source } : {}),
      category: ctx.category,
      recordKey: ctx.recordKey,
    };
    return reading;
  });
}
