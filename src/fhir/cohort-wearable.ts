import type { Bundle, CodeableConcept, Device, Observation } from "@medplum/fhirtypes";
import { System } from "./codes";
import {
  NOMINAL_PERIOD,
  cadence,
  patientRng,
  type CohortEpisode,
  type PatientPlan,
  type ResolvedCohortOptions,
} from "./cohort-plan";
import { cosTurns, type Prng } from "./prng";
import { fhirTimeStart, isoSeconds } from "./time";

/**
 * A patient's wearable stream, as FHIR Observations a device gateway would send, in time order:
 * heart rate, SpO2, steps (a count over the window, as effectivePeriod), CGM glucose for
 * diabetics, home blood pressure twice a day for hypertensives, and daily weight, morning body
 * temperature and night-time respiratory rate. Values follow a day-night rhythm and activity
 * (asleep 23:00-06:30 UTC, walks in the morning and evening); outside the planned episodes SpO2
 * stays at 92 % or above and heart rate at 115 /min or below, inside them SpO2 is 84-90 % and
 * heart rate 125-150 /min, so alerts fire exactly on the episodes.
 */

const VITAL = [{ coding: [{ system: System.observationCategory, code: "vital-signs" }] }];
const ACTIVITY = [{ coding: [{ system: System.observationCategory, code: "activity" }] }];
const loinc = (code: string, display: string): CodeableConcept => ({
  coding: [{ system: System.loinc, code, display }],
});
const ucum = (value: number, code: string, unit = code) => ({ value, unit, system: System.ucum, code });

/** The Device resource of the patient's wearable. */
export function wearableDevice(plan: PatientPlan): Device {
  return {
    resourceType: "Device",
    id: plan.deviceId,
    meta: { security: [{ system: System.actReason, code: "HTEST" }] },
    status: "active",
    manufacturer: "TwinLedger synthetic devices",
    deviceName: [{ name: "Synthetic wrist wearable", type: "user-friendly-name" }],
    patient: { reference: `Patient/${plan.patientId}` },
  };
}

/** The wearable Observations of a planned patient, generated lazily in time order. */
export function* wearableObservations(options: ResolvedCohortOptions, plan: PatientPlan): Generator<Observation> {
  const rng = patientRng(options, plan.index, "wearable");
  const model = new Physiology(rng, plan);
  const start = fhirTimeStart(options.start);
  const end = start + options.days * 86_400_000;
  const step = options.intervalSeconds * 1000;
  const every = (nominal: number) => cadence(nominal, options.intervalSeconds) * 1000;
  const [hr, spo2, steps, glucose] = [
    every(NOMINAL_PERIOD.heartRate),
    every(NOMINAL_PERIOD.oxygenSaturation),
    every(NOMINAL_PERIOD.steps),
    every(NOMINAL_PERIOD.glucose),
  ];
  const diabetic = plan.conditions.includes("diabetes");
  const hypertensive = plan.conditions.includes("hypertension");
  const short = plan.deviceId.slice(0, 8);
  const observation = (
    sign: string,
    t: number,
    code: CodeableConcept,
    measured: Pick<Observation, "valueQuantity" | "component" | "effectivePeriod">,
    category: CodeableConcept[] | undefined = VITAL,
  ): Observation => ({
    resourceType: "Observation",
    id: `${short}-${sign}-${t / 1000}`,
    status: "final",
    ...(category !== undefined ? { category } : {}),
    code,
    subject: { reference: `Patient/${plan.patientId}` },
    ...(measured.effectivePeriod === undefined ? { effectiveDateTime: isoSeconds(t) } : {}),
    ...measured,
    device: { reference: `Device/${plan.deviceId}` },
  });

  for (let t = start; t < end; t += step) {
    const since = t - start;
    const hour = hourOf(t);
    if (dailyAt(t, step, 6 * 60)) {
      yield observation("rr", t, loinc("9279-1", "Respiratory rate"), {
        valueQuantity: ucum(model.respiratoryRate(), "/min"),
      });
    }
    if (since % hr === 0) {
      yield observation("hr", t, loinc("8867-4", "Heart rate"), {
        valueQuantity: ucum(model.heartRate(t, hour), "/min"),
      });
    }
    if (since % spo2 === 0) {
      yield observation("spo2", t, loinc("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"), {
        valueQuantity: ucum(model.oxygenSaturation(t, hour), "%"),
      });
    }
    if (since % steps === 0) {
      yield observation(
        "steps",
        t,
        loinc("55423-8", "Number of steps in unspecified time Pedometer"),
        {
          effectivePeriod: { start: isoSeconds(t), end: isoSeconds(t + steps) },
          valueQuantity: ucum(model.steps(hour, steps / 60_000), "{steps}", "steps"),
        },
        ACTIVITY,
      );
    }
    if (diabetic && since % glucose === 0) {
      // A CGM reading: no Observation.category (it is neither a vital sign nor a laboratory test).
      yield observation(
        "glu",
        t,
        loinc("2339-0", "Glucose [Mass/volume] in Blood"),
        { valueQuantity: ucum(model.glucose(hour), "mg/dL") },
        undefined,
      );
    }
    if (dailyAt(t, step, 7 * 60)) {
      yield observation("wt", t, loinc("29463-7", "Body weight"), { valueQuantity: ucum(model.weight(), "kg") });
      yield observation("temp", t, loinc("8310-5", "Body temperature"), {
        valueQuantity: ucum(model.temperature(hour), "Cel"),
      });
    }
    if (hypertensive && (dailyAt(t, step, 7 * 60) || dailyAt(t, step, 19 * 60))) {
      const [systolic, diastolic] = model.bloodPressure(hour);
      yield observation("bp", t, loinc("85354-9", "Blood pressure panel with all children optional"), {
        component: [
          { code: loinc("8480-6", "Systolic blood pressure"), valueQuantity: ucum(systolic, "mm[Hg]") },
          { code: loinc("8462-4", "Diastolic blood pressure"), valueQuantity: ucum(diastolic, "mm[Hg]") },
        ],
      });
    }
  }
}

/** The wearable stream as a `collection` Bundle: the Device, then the Observations. */
export function wearableBundle(options: ResolvedCohortOptions, plan: PatientPlan): Bundle {
  const observations = [...wearableObservations(options, plan)];
  return {
    resourceType: "Bundle",
    id: `${plan.deviceId.slice(0, 8)}-stream`,
    type: "collection",
    timestamp: isoSeconds(fhirTimeStart(options.start) + options.days * 86_400_000),
    entry: [
      { fullUrl: `urn:uuid:${plan.deviceId}`, resource: wearableDevice(plan) },
      ...observations.map((resource) => ({ resource })),
    ],
  };
}

/** UTC hour of day, fractional. */
function hourOf(t: number): number {
  return (t % 86_400_000) / 3_600_000;
}

/** Whether `t` is the first tick at or after `minuteOfDay` (UTC) on its day: one daily reading at any interval. */
function dailyAt(t: number, step: number, minuteOfDay: number): boolean {
  const sinceMidnight = t % 86_400_000;
  const target = minuteOfDay * 60_000;
  return sinceMidnight >= target && sinceMidnight - step < target;
}

/** The patient's physiology: values as functions of time, day-night rhythm, activity and episodes. */
class Physiology {
  private readonly episodes: readonly { kind: CohortEpisode["kind"]; from: number; until: number }[];

  constructor(
    private readonly rng: Prng,
    private readonly plan: PatientPlan,
  ) {
    this.episodes = plan.episodes.map((e) => ({
      kind: e.kind,
      from: fhirTimeStart(e.start),
      until: fhirTimeStart(e.end),
    }));
  }

  private inEpisode(kind: CohortEpisode["kind"], t: number): boolean {
    return this.episodes.some((e) => e.kind === kind && t >= e.from && t < e.until);
  }

  private asleep(hour: number): boolean {
    return hour >= 23 || hour < 6.5;
  }

  /** 0 (asleep) to about 1 (a brisk walk). */
  private activity(hour: number): number {
    if (this.asleep(hour)) return 0;
    if (hour >= 7.5 && hour < 8.5) return 0.9;
    if (hour >= 17.5 && hour < 19) return 0.8;
    if (hour >= 12 && hour < 13) return 0.5;
    return 0.2;
  }

  /** +1 at 15:00, -1 at 03:00. */
  private rhythm(hour: number): number {
    return cosTurns((hour - 15) / 24);
  }

  heartRate(t: number, hour: number): number {
    if (this.inEpisode("tachycardia", t)) return Math.round(125 + this.rng.next() * 25);
    const af = this.plan.conditions.includes("atrialFibrillation") ? 2 : 1;
    const value =
      this.plan.restingHeartRate +
      (this.asleep(hour) ? -7 : 0) +
      3 * this.rhythm(hour) +
      35 * this.activity(hour) * (0.5 + this.rng.next()) +
      3 * af * this.rng.normal();
    return Math.round(Math.min(115, Math.max(40, value)));
  }

  oxygenSaturation(t: number, hour: number): number {
    if (this.inEpisode("desaturation", t)) return Math.round(84 + this.rng.next() * 6);
    const lungs = this.plan.conditions.includes("copd") || this.plan.conditions.includes("sleepApnea");
    const value = (lungs ? 94.5 : 97.5) + (this.asleep(hour) ? -1 : 0) + 0.8 * this.rng.normal();
    return Math.round(Math.min(100, Math.max(92, value)));
  }

  steps(hour: number, minutes: number): number {
    const perMinute = 100 * this.activity(hour) * this.plan.activity;
    return Math.round(perMinute * minutes * (0.6 + 0.8 * this.rng.next()));
  }

  glucose(hour: number): number {
    let value = 140 + 8 * this.rng.normal();
    for (const meal of [7.5, 12.5, 18.5]) {
      const since = hour - meal;
      if (since >= 0 && since < 3) value += 60 * (since < 1 ? since : (3 - since) / 2);
    }
    return Math.round(value);
  }

  bloodPressure(hour: number): [number, number] {
    const evening = hour >= 12 ? -3 : 0;
    return [Math.round(148 + evening + 6 * this.rng.normal()), Math.round(92 + 4 * this.rng.normal())];
  }

  weight(): number {
    return Math.round((this.plan.weight + 0.3 * this.rng.normal()) * 10) / 10;
  }

  temperature(hour: number): number {
    return Math.round((36.6 + 0.2 * this.rhythm(hour) + 0.1 * this.rng.normal()) * 10) / 10;
  }

  respiratoryRate(): number {
    return Math.round(14 + 1.5 * this.rng.normal());
  }
}
