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
 * LOINC codes read as each vital sign: the FHIR R4 vital-signs profile
 * (http://hl7.org/fhir/R4/observation-vitalsigns.html) and the alternate codes real exports use.
 * The first code of each list is the one in `VitalSign` and the one the cohort generator and
 * exports write.
 * @dev SpO2: 59408-5 (pulse oximetry, the profile's code) and 2708-6 (arterial blood, which the
 * HL7 examples send next to it), 2710-2 (capillary, by oximetry), 20564-1 (blood). Temperature:
 * 8310-5 and the site-specific 8331-1 oral, 8328-7 axillary, 8332-9 rectal, 8333-7 tympanic,
 * 8329-5 core. Weight: 29463-7 and 3141-9 measured, 3142-7 stated, 8350-1 with and 8351-9
 * without clothes. Height: 8302-2 and 8306-3 lying, 8308-9 standing, 3137-7 measured, 3138-5
 * stated. Blood pressure panels 85354-9, 55284-4 and 35094-2 carry systolic 8480-6 (8459-0
 * sitting, 8460-8 standing, 8461-6 supine) and diastolic 8462-4 (8453-3, 8454-1, 8455-8) as
 * components. Heart rate 8867-4 and 8889-8 (by pulse oximetry), 8893-0 (peripheral, palpated).
 * Glucose accepts the blood, serum/plasma, capillary and molar forms: 2339-0, 2345-7, 41653-7,
 * 2340-8 (mass) and 15074-8, 14749-6 (moles, converted).
 */
export const VITAL_SIGN_CODES: Readonly<Record<VitalSignName, readonly string[]>> = {
  heartRate: [VitalSign.heartRate, "8889-8", "8893-0"],
  oxygenSaturation: [VitalSign.oxygenSaturation, "2708-6", "2710-2", "20564-1"],
  steps: [VitalSign.steps],
  bloodPressure: [VitalSign.bloodPressure, "55284-4", "35094-2"],
  systolic: [VitalSign.systolic, "8459-0", "8460-8", "8461-6"],
  diastolic: [VitalSign.diastolic, "8453-3", "8454-1", "8455-8"],
  bodyTemperature: [VitalSign.bodyTemperature, "8331-1", "8328-7", "8332-9", "8333-7", "8329-5"],
  glucose: [VitalSign.glucose, "2345-7", "41653-7", "2340-8", "15074-8", "14749-6"],
  respiratoryRate: [VitalSign.respiratoryRate],
  bodyWeight: [VitalSign.bodyWeight, "3141-9", "3142-7", "8350-1", "8351-9"],
  bodyHeight: [VitalSign.bodyHeight, "8306-3", "8308-9", "3137-7", "3138-5"],
  bmi: [VitalSign.bmi],
  headCircumference: [VitalSign.headCircumference, "8287-5"],
};

/**
 * ISO/IEEE 11073-10101 (MDC) codes personal health devices send, read as the same signs when no
 * LOINC coding is one (e.g. MDC_PULS_OXIM_SAT_O2 150456, MDC_PULS_RATE_NON_INV 149546).
 */
export const MDC_SIGN_CODES: Readonly<Record<string, VitalSignName>> = {
  "149530": "heartRate", // MDC_PULS_OXIM_PULS_RATE
  "149546": "heartRate", // MDC_PULS_RATE_NON_INV
  "147842": "heartRate", // MDC_ECG_HEART_RATE
  "150456": "oxygenSaturation", // MDC_PULS_OXIM_SAT_O2
  "150020": "bloodPressure", // MDC_PRESS_BLD_NONINV
  "150021": "systolic", // MDC_PRESS_BLD_NONINV_SYS
  "150022": "diastolic", // MDC_PRESS_BLD_NONINV_DIA
  "151562": "respiratoryRate", // MDC_RESP_RATE
  "150364": "bodyTemperature", // MDC_TEMP_BODY
  "188736": "bodyWeight", // MDC_MASS_BODY_ACTUAL
  "188740": "bodyHeight", // MDC_LEN_BODY_ACTUAL
  "188752": "bmi", // MDC_RATIO_MASS_BODY_LEN_SQ
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

/** The vital sign an MDC code stands for, if the twin follows it. */
export function vitalSignOfMdc(code: string): VitalSignName | undefined {
  return Object.prototype.hasOwnProperty.call(MDC_SIGN_CODES, code) ? MDC_SIGN_CODES[code] : undefined;
}

/** LOINC document types and categories read as laboratory or imaging documents. */
export const LAB_DOCUMENT_CODES: ReadonlySet<string> = new Set([
  "http://loinc.org|11502-2", // Laboratory report
  "http://terminology.hl7.org/CodeSystem/v2-0074|LAB",
]);
export const IMAGING_DOCUMENT_CODES: ReadonlySet<string> = new Set([
  "http://loinc.org|18748-4", // Diagnostic imaging study
  "http://loinc.org|LP29684-5", // Radiology
  "http://terminology.hl7.org/CodeSystem/v2-0074|RAD",
]);

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
