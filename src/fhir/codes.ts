import { VitalSign, type VitalSignName } from "./records";

/** Code systems the FHIR module reads and writes. */
export const System = {
  loinc: "http://loinc.org",
  snomed: "http://snomed.info/sct",
  rxnorm: "http://www.nlm.nih.gov/research/umls/rxnorm",
  cvx: "http://hl7.org/fhir/sid/cvx",
  ucum: "http://unitsofmeasure.org",
  mdc: "urn:iso:std:iso:11073:10101",
  observationCategory: "http://terminology.hl7.org/CodeSystem/observation-category",
  diagnosticServiceSection: "http://terminology.hl7.org/CodeSystem/v2-0074",
  conditionClinical: "http://terminology.hl7.org/CodeSystem/condition-clinical",
  conditionVerification: "http://terminology.hl7.org/CodeSystem/condition-ver-status",
  conditionCategory: "http://terminology.hl7.org/CodeSystem/condition-category",
  allergyClinical: "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
  allergyVerification: "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
  actCode: "http://terminology.hl7.org/CodeSystem/v3-ActCode",
  actReason: "http://terminology.hl7.org/CodeSystem/v3-ActReason",
  consentScope: "http://terminology.hl7.org/CodeSystem/consentscope",
  consentAction: "http://terminology.hl7.org/CodeSystem/consentaction",
  participationType: "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
  resourceTypes: "http://hl7.org/fhir/resource-types",
  dataAbsentReason: "http://terminology.hl7.org/CodeSystem/data-absent-reason",
  /** TwinLedger's own codes for its data categories (the names of `DataCategory`). */
  twinCategory: "https://twinledger.example.org/fhir/CodeSystem/data-category",
  /** TwinLedger's own codes for its actions (the names of `Action`). */
  twinAction: "https://twinledger.example.org/fhir/CodeSystem/action",
  /** TwinLedger's own codes for its purposes (the names of `Purpose`). */
  twinPurpose: "https://twinledger.example.org/fhir/CodeSystem/purpose",
} as const;

/**
 * LOINC codes read as each vital sign. The first code of each list is the one in `VitalSign`
 * and the one the cohort generator and exports write.
 * @dev 2708-6 (SpO2 in arterial blood) is accepted because the HL7 examples and many pulse
 * oximeters send it next to 59408-5. Glucose accepts the blood, serum/plasma, capillary and
 * molar forms: 2339-0, 2345-7, 41653-7, 2340-8 (mass) and 15074-8, 14749-6 (moles, converted).
 */
export const VITAL_SIGN_CODES: Readonly<Record<VitalSignName, readonly string[]>> = {
  heartRate: [VitalSign.heartRate],
  oxygenSaturation: [VitalSign.oxygenSaturation, "2708-6"],
  steps: [VitalSign.steps],
  bloodPressure: [VitalSign.bloodPressure],
  systolic: [VitalSign.systolic],
  diastolic: [VitalSign.diastolic],
  bodyTemperature: [VitalSign.bodyTemperature],
  glucose: [VitalSign.glucose, "2345-7", "41653-7", "2340-8", "15074-8", "14749-6"],
  respiratoryRate: [VitalSign.respiratoryRate],
  bodyWeight: [VitalSign.bodyWeight],
  bodyHeight: [VitalSign.bodyHeight],
};

const SIGN_BY_LOINC: ReadonlyMap<string, VitalSignName> = new Map(
  (Object.keys(VITAL_SIGN_CODES) as VitalSignName[]).flatMap((sign) =>
    VITAL_SIGN_CODES[sign].map((code) => [code, sign] as const),
  ),
);

/** The vital sign a LOINC code stands for, if the twin follows it. */
export function vitalSignOfLoinc(code: string): VitalSignName | undefined {
  return SIGN_BY_LOINC.get(code);
}

/** Diagnostic service sections (v2-0074) and LOINC part codes that mean imaging. */
export const IMAGING_REPORT_CATEGORIES: ReadonlySet<string> = new Set([
  `${System.diagnosticServiceSection}|RAD`,
  `${System.diagnosticServiceSection}|CT`,
  `${System.diagnosticServiceSection}|CUS`,
  `${System.diagnosticServiceSection}|NMR`,
  `${System.diagnosticServiceSection}|NMS`,
  `${System.diagnosticServiceSection}|OUS`,
  `${System.diagnosticServiceSection}|RUS`,
  `${System.diagnosticServiceSection}|VUS`,
  `${System.diagnosticServiceSection}|XRC`,
  `${System.loinc}|LP29684-5`,
]);
