import { Action, DataCategory, namesOf, Purpose } from "../../src/vocabulary";

/** Words for the vocabulary's bits, for people. */
const CATEGORY_WORDS: Record<keyof typeof DataCategory, string> = {
  DEMOGRAPHICS: "demographics",
  CONDITIONS: "conditions",
  MEDICATIONS: "medications",
  ALLERGIES: "allergies",
  PROCEDURES: "procedures & immunizations",
  ENCOUNTERS: "encounters",
  LABS: "labs",
  VITALS: "vitals",
  WEARABLE_STREAMS: "wearable readings",
  IMAGING: "imaging",
  GENOMICS: "genomics",
  MENTAL_HEALTH: "mental health",
  TWIN_MODEL: "twin model",
  COVERAGE: "coverage",
};

const PURPOSE_WORDS: Record<keyof typeof Purpose, string> = {
  TREATMENT: "treatment",
  RESEARCH: "research",
  INSURANCE_CLAIM: "insurance claim",
  EMERGENCY: "emergency",
  PUBLIC_HEALTH: "public health",
  CARE_COORDINATION: "care coordination",
  CLINICAL_TRIAL: "clinical trial",
  DEVICE_MONITORING: "device monitoring",
  PERSONAL_USE: "personal use",
  AUDIT: "audit",
};

const ACTION_WORDS: Record<keyof typeof Action, string> = {
  READ: "read",
  AGGREGATE: "aggregates",
  WRITE: "write",
  SHARE: "share",
};

export const categoryWords = (bits: number) => namesOf(DataCategory, bits).map((n) => CATEGORY_WORDS[n]);
export const purposeWords = (bits: number) => namesOf(Purpose, bits).map((n) => PURPOSE_WORDS[n]);
export const actionWords = (bits: number) => namesOf(Action, bits).map((n) => ACTION_WORDS[n]);
export { CATEGORY_WORDS, PURPOSE_WORDS, ACTION_WORDS };

/** Why the gateway refused, for people (the refusal codes of src/service/consent.ts and errors.ts). */
const REFUSALS: Record<string, string> = {
  "no-consent": "no grant covers this: the patient has not given you access",
  "not-yet-valid": "your grant has not started yet",
  expired: "your grant has expired",
  revoked: "the patient revoked your grant",
  "wrong-purpose": "your grant does not cover this purpose",
  "category-not-granted": "your grant does not cover these categories",
  "action-not-granted": "your grant does not allow this action (e.g. aggregates only)",
  suspended: "the twin is suspended",
  blocked: "the patient blocked this account",
  erased: "the twin was erased",
  "unknown-twin": "no such twin at this gateway",
  "rate-limited": "too many requests: try again shortly",
  "chain-unavailable": "the chain could not be reached",
  "data-unavailable": "the twin's data could not be read",
  "not-authorized": "only the patient (or a delegate, or an auditor) may read the audit trail",
};
export const refusalWords = (code: string) => REFUSALS[code] ?? code;

const SIGN_WORDS: Record<string, string> = {
  heartRate: "Heart rate",
  oxygenSaturation: "SpO₂",
  steps: "Steps",
  bloodPressure: "Blood pressure",
  systolic: "Systolic",
  diastolic: "Diastolic",
  bodyTemperature: "Temperature",
  glucose: "Glucose",
  respiratoryRate: "Respiratory rate",
  bodyWeight: "Weight",
  bodyHeight: "Height",
  bmi: "BMI",
  headCircumference: "Head circumference",
};
export const signWords = (sign: string) => SIGN_WORDS[sign] ?? sign;

const UNIT_WORDS: Record<string, string> = {
  "/min": "/min",
  "%": "%",
  "mm[Hg]": "mmHg",
  Cel: "°C",
  "{steps}": "steps",
};
export const unitWords = (unit: string) => UNIT_WORDS[unit] ?? unit;

export const shortAddress = (address: string) => `${address.slice(0, 6)}…${address.slice(-4)}`;
export const shortHash = (hash: string) => `${hash.slice(0, 10)}…${hash.slice(-6)}`;

/** "3 d 4 h", "25 min", "ended". */
export function timeLeft(untilSeconds: number, nowSeconds: number): string {
  const left = untilSeconds - nowSeconds;
  if (left <= 0) return "ended";
  const d = Math.floor(left / 86_400);
  const h = Math.floor((left % 86_400) / 3600);
  const m = Math.floor((left % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return `${Math.max(m, 1)} min`;
}

export const when = (ms: number) =>
  new Date(ms).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }) + " UTC";
