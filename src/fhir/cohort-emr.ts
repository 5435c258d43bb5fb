import type {
  AllergyIntolerance,
  Bundle,
  BundleEntry,
  CodeableConcept,
  Condition,
  DiagnosticReport,
  Encounter,
  Immunization,
  MedicationRequest,
  MedicationStatement,
  Observation,
  Patient,
  Procedure,
  Resource,
} from "@medplum/fhirtypes";
import { System } from "./codes";
import { patientRng, type ConditionName, type PatientPlan, type ResolvedCohortOptions } from "./cohort-plan";
import type { Prng } from "./prng";
import { fhirTimeStart, isoSeconds } from "./time";

/**
 * A patient's hospital record as an EMR would export it: a `collection` Bundle with `urn:uuid:`
 * fullUrls and references (as Synthea writes them), holding the Patient, two encounters (an
 * annual check-up and a follow-up), problem-list Conditions, MedicationRequests and one
 * MedicationStatement, an AllergyIntolerance, an Immunization, Procedures, the check-up's vital
 * signs and a basic metabolic panel with its DiagnosticReport. Every resource is tagged HTEST.
 */

const HTEST = [{ system: System.actReason, code: "HTEST", display: "test health data" }];

interface Coded {
  readonly system: string;
  readonly code: string;
  readonly display: string;
}

const CONDITIONS: Readonly<Record<ConditionName, { condition: Coded; medication?: Coded }>> = {
  hypertension: {
    condition: { system: System.snomed, code: "59621000", display: "Essential hypertension (disorder)" },
    medication: { system: System.rxnorm, code: "429503", display: "Hydrochlorothiazide 12.5 MG" },
  },
  diabetes: {
    condition: { system: System.snomed, code: "44054006", display: "Diabetes mellitus type 2 (disorder)" },
    medication: {
      system: System.rxnorm,
      code: "860975",
      display: "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet",
    },
  },
  copd: {
    condition: { system: System.snomed, code: "13645005", display: "Chronic obstructive lung disease (disorder)" },
    medication: {
      system: System.rxnorm,
      code: "895994",
      display: "120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler",
    },
  },
  asthma: {
    condition: { system: System.snomed, code: "195967001", display: "Asthma (disorder)" },
    medication: {
      system: System.rxnorm,
      code: "895994",
      display: "120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler",
    },
  },
  sleepApnea: {
    condition: { system: System.snomed, code: "73430006", display: "Sleep apnea (disorder)" },
  },
  atrialFibrillation: {
    condition: { system: System.snomed, code: "49436004", display: "Atrial fibrillation (disorder)" },
    medication: { system: System.rxnorm, code: "1364445", display: "apixaban 5 MG Oral Tablet" },
  },
};

const ALLERGIES: readonly (Coded & { category: "food" | "environment" | "medication" })[] = [
  { system: System.snomed, code: "91935009", display: "Allergy to peanuts", category: "food" },
  { system: System.snomed, code: "419263009", display: "Allergy to tree pollen", category: "environment" },
  { system: System.snomed, code: "91936005", display: "Allergy to penicillin", category: "medication" },
];

const cc = (c: Coded): CodeableConcept => ({
  coding: [{ system: c.system, code: c.code, display: c.display }],
  text: c.display,
});
const loinc = (code: string, display: string): CodeableConcept => ({
  coding: [{ system: System.loinc, code, display }],
  text: display,
});
const category = (code: "vital-signs" | "laboratory"): CodeableConcept[] => [
  { coding: [{ system: System.observationCategory, code }] },
];
const ucum = (value: number, code: string) => ({ value, unit: code, system: System.ucum, code });

/** The EMR Bundle of a planned patient. */
export function emrBundle(options: ResolvedCohortOptions, plan: PatientPlan): Bundle {
  const rng = patientRng(options, plan.index, "emr");
  const builder = new EmrBuilder(rng, plan, fhirTimeStart(options.start));
  return builder.build();
}

class EmrBuilder {
  private readonly entries: BundleEntry[] = [];
  private readonly patientRef: { reference: string };

  constructor(
    private readonly rng: Prng,
    private readonly plan: PatientPlan,
    private readonly startMs: number,
  ) {
    this.patientRef = { reference: `urn:uuid:${plan.patientId}` };
  }

  private add<T extends Resource>(resource: T, id = this.rng.uuid()): { reference: string } {
    const withId = { ...resource, id, meta: { security: HTEST } };
    this.entries.push({ fullUrl: `urn:uuid:${id}`, resource: withId });
    return { reference: `urn:uuid:${id}` };
  }

  private daysBefore(min: number, max: number): number {
    const days = this.rng.int(min, max);
    const minute = this.rng.int(8 * 60, 17 * 60);
    return this.startMs - days * 86_400_000 - (this.startMs % 86_400_000) + minute * 60_000;
  }

  build(): Bundle {
    const { plan, rng } = this;
    const patient: Patient = {
      resourceType: "Patient",
      identifier: [
        { system: "https://twinledger.example.org/fhir/synthetic-mrn", value: `SYN-${plan.patientId.slice(0, 8)}` },
      ],
      name: [{ use: "official", family: plan.family, given: [plan.given] }],
      gender: plan.sex,
      birthDate: plan.birthDate,
    };
    this.add(patient, plan.patientId);

    const checkupAt = this.daysBefore(60, 300);
    const checkup = this.encounter(checkupAt, 30, {
      system: System.snomed,
      code: "162673000",
      display: "General examination of patient (procedure)",
    });
    const followUpAt = this.daysBefore(5, 50);
    const followUp =
      plan.conditions.length > 0
        ? this.encounter(followUpAt, 20, { system: System.snomed, code: "185347001", display: "Encounter for problem" })
        : undefined;

    for (const name of plan.conditions) {
      const onset = checkupAt - rng.int(1, 15) * 365 * 86_400_000;
      const condition: Condition = {
        resourceType: "Condition",
        clinicalStatus: { coding: [{ system: System.conditionClinical, code: "active" }] },
        verificationStatus: { coding: [{ system: System.conditionVerification, code: "confirmed" }] },
        category: [{ coding: [{ system: System.conditionCategory, code: "problem-list-item" }] }],
        code: cc(CONDITIONS[name].condition),
        subject: this.patientRef,
        encounter: checkup,
        onsetDateTime: isoSeconds(onset),
        recordedDate: isoSeconds(checkupAt),
      };
      this.add(condition);
    }

    const prescribed = new Set<string>();
    for (const name of plan.conditions) {
      const medication = CONDITIONS[name].medication;
      if (medication === undefined || prescribed.has(medication.code)) continue;
      prescribed.add(medication.code);
      const request: MedicationRequest = {
        resourceType: "MedicationRequest",
        status: "active",
        intent: "order",
        medicationCodeableConcept: cc(medication),
        subject: this.patientRef,
        encounter: checkup,
        authoredOn: isoSeconds(checkupAt),
        dosageInstruction: [{ text: "As directed" }],
      };
      this.add(request);
    }
    if (rng.chance(0.5)) {
      const statement: MedicationStatement = {
        resourceType: "MedicationStatement",
        status: "active",
        medicationCodeableConcept: cc({
          system: System.rxnorm,
          code: "313782",
          display: "Acetaminophen 325 MG Oral Tablet",
        }),
        subject: this.patientRef,
        dateAsserted: isoSeconds(checkupAt),
      };
      this.add(statement);
    }

    if (rng.chance(0.6)) {
      const allergy = rng.pick(ALLERGIES);
      const resource: AllergyIntolerance = {
        resourceType: "AllergyIntolerance",
        clinicalStatus: { coding: [{ system: System.allergyClinical, code: "active" }] },
        verificationStatus: { coding: [{ system: System.allergyVerification, code: "confirmed" }] },
        type: "allergy",
        category: [allergy.category],
        criticality: "low",
        code: cc(allergy),
        patient: this.patientRef,
        recordedDate: isoSeconds(checkupAt),
      };
      this.add(resource);
    }

    const immunization: Immunization = {
      resourceType: "Immunization",
      status: "completed",
      vaccineCode: cc({
        system: System.cvx,
        code: "140",
        display: "Influenza, seasonal, injectable, preservative free",
      }),
      patient: this.patientRef,
      encounter: checkup,
      occurrenceDateTime: isoSeconds(checkupAt),
      primarySource: true,
    };
    this.add(immunization);

    this.procedure(checkupAt, checkup, {
      system: System.snomed,
      code: "430193006",
      display: "Medication Reconciliation (procedure)",
    });
    if (followUp !== undefined && plan.conditions.includes("atrialFibrillation")) {
      this.procedure(followUpAt, followUp, {
        system: System.snomed,
        code: "29303009",
        display: "Electrocardiographic procedure",
      });
    }

    this.vitals(checkupAt, checkup);
    this.labs(checkupAt, checkup);

    return {
      resourceType: "Bundle",
      id: rng.uuid(),
      meta: { security: HTEST },
      type: "collection",
      timestamp: isoSeconds(this.startMs),
      entry: this.entries,
    };
  }

  private encounter(at: number, minutes: number, type: Coded): { reference: string } {
    const encounter: Encounter = {
      resourceType: "Encounter",
      status: "finished",
      class: { system: System.actCode, code: "AMB", display: "ambulatory" },
      type: [cc(type)],
      subject: this.patientRef,
      period: { start: isoSeconds(at), end: isoSeconds(at + minutes * 60_000) },
    };
    return this.add(encounter);
  }

  private procedure(at: number, encounter: { reference: string }, code: Coded): void {
    const procedure: Procedure = {
      resourceType: "Procedure",
      status: "completed",
      code: cc(code),
      subject: this.patientRef,
      encounter,
      performedPeriod: { start: isoSeconds(at), end: isoSeconds(at + 15 * 60_000) },
    };
    this.add(procedure);
  }

  private observation(
    at: number,
    encounter: { reference: string },
    kind: "vital-signs" | "laboratory",
    code: CodeableConcept,
    rest: Partial<Observation>,
  ): { reference: string } {
    const observation: Observation = {
      resourceType: "Observation",
      status: "final",
      category: category(kind),
      code,
      subject: this.patientRef,
      encounter,
      effectiveDateTime: isoSeconds(at),
      issued: isoSeconds(at + 3_600_000),
      ...rest,
    };
    return this.add(observation);
  }

  private vitals(at: number, encounter: { reference: string }): void {
    const { plan, rng } = this;
    const hypertensive = plan.conditions.includes("hypertension");
    const lungs = plan.conditions.includes("copd") || plan.conditions.includes("sleepApnea");
    const v = (code: string, display: string, value: number, unit: string) =>
      this.observation(at, encounter, "vital-signs", loinc(code, display), { valueQuantity: ucum(value, unit) });
    this.observation(
      at,
      encounter,
      "vital-signs",
      loinc("85354-9", "Blood pressure panel with all children optional"),
      {
        component: [
          {
            code: loinc("8480-6", "Systolic blood pressure"),
            valueQuantity: ucum(Math.round((hypertensive ? 146 : 118) + rng.normal() * 6), "mm[Hg]"),
          },
          {
            code: loinc("8462-4", "Diastolic blood pressure"),
            valueQuantity: ucum(Math.round((hypertensive ? 91 : 76) + rng.normal() * 4), "mm[Hg]"),
          },
        ],
      },
    );
    v("8867-4", "Heart rate", Math.round(plan.restingHeartRate + 4 + rng.normal() * 3), "/min");
    v("9279-1", "Respiratory rate", Math.round(14 + rng.normal()), "/min");
    v("8310-5", "Body temperature", Math.round((36.7 + rng.normal() * 0.15) * 10) / 10, "Cel");
    v("29463-7", "Body weight", plan.weight, "kg");
    v("8302-2", "Body height", plan.height, "cm");
    v(
      "59408-5",
      "Oxygen saturation in Arterial blood by Pulse oximetry",
      Math.min(100, Math.round((lungs ? 94.5 : 97.5) + rng.normal() * 0.6)),
      "%",
    );
  }

  private labs(at: number, encounter: { reference: string }): void {
    const { plan, rng } = this;
    const diabetic = plan.conditions.includes("diabetes");
    const lab = (code: string, display: string, value: number, unit: string) =>
      this.observation(at, encounter, "laboratory", loinc(code, display), { valueQuantity: ucum(value, unit) });
    const glucose = lab(
      "2339-0",
      "Glucose [Mass/volume] in Blood",
      Math.round((diabetic ? 152 : 92) + rng.normal() * 8),
      "mg/dL",
    );
    const creatinine = lab(
      "38483-4",
      "Creatinine [Mass/volume] in Blood",
      Math.round((0.9 + rng.normal() * 0.12) * 100) / 100,
      "mg/dL",
    );
    lab(
      "4548-4",
      "Hemoglobin A1c/Hemoglobin.total in Blood",
      Math.round((diabetic ? 7.6 : 5.4) * 10 + rng.normal() * 2) / 10,
      "%",
    );
    const report: DiagnosticReport = {
      resourceType: "DiagnosticReport",
      status: "final",
      category: [{ coding: [{ system: System.diagnosticServiceSection, code: "LAB", display: "Laboratory" }] }],
      code: loinc("51990-0", "Basic metabolic panel - Blood"),
      subject: this.patientRef,
      encounter,
      effectiveDateTime: isoSeconds(at),
      issued: isoSeconds(at + 3_600_000),
      result: [glucose, creatinine],
    };
    this.add(report);
  }
}
