/**
 * FHIR R4 date, dateTime and instant: the regular expressions of the specification, a calendar
 * check, and conversion to milliseconds. Partial dates (`2015`, `2015-06`, `2015-06-22`) carry no
 * time zone; they are read as UTC.
 */

const YEAR = "([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)";
const MONTH = "(0[1-9]|1[0-2])";
const DAY = "(0[1-9]|[1-2][0-9]|3[0-1])";
const TIME = "([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?";
const ZONE = "(Z|(\\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))";

const DATE_RE = new RegExp(`^${YEAR}(-${MONTH}(-${DAY})?)?$`);
const DATE_TIME_RE = new RegExp(`^${YEAR}(-${MONTH}(-${DAY}(T${TIME}${ZONE})?)?)?$`);
const INSTANT_RE = new RegExp(`^${YEAR}-${MONTH}-${DAY}T${TIME}${ZONE}$`);

export type TemporalKind = "date" | "dateTime" | "instant";

/** Whether `text` is a well-formed FHIR value of the kind and names a real calendar day and time. */
export function isFhirTemporal(text: string, kind: TemporalKind): boolean {
  const re = kind === "date" ? DATE_RE : kind === "dateTime" ? DATE_TIME_RE : INSTANT_RE;
  if (!re.test(text)) return false;
  if (!calendarOk(text)) return false;
  return Number.isFinite(fhirTimeStart(text));
}

/** The first millisecond a FHIR date/dateTime/instant covers (UTC for partial dates). */
export function fhirTimeStart(text: string): number {
  if (text.length <= 10) {
    const [y, m, d] = splitDate(text);
    return utc(y, (m ?? 1) - 1, d ?? 1);
  }
  return parseTime(text);
}

/**
 * `Date.parse` of a FHIR time, with a leap second (`23:59:60`, which FHIR admits and Date.parse
 * does not) read as the first instant of the next second.
 */
function parseTime(text: string): number {
  if (text.length > 19 && text.slice(16, 19) === ":60") {
    return Date.parse(`${text.slice(0, 16)}:59${text.slice(19)}`) + 1000;
  }
  return Date.parse(text);
}

/**
 * The first millisecond after a FHIR date/dateTime/instant, at its precision: `2016-01-01` ends at
 * 2016-01-02T00:00Z, `2016-06` at 2016-07-01, a time with seconds one second (or one fraction
 * unit) later. FHIR period ends include every instant that matches them.
 */
export function fhirTimeEndExclusive(text: string): number {
  if (text.length <= 10) {
    const [y, m, d] = splitDate(text);
    if (m === undefined) return utc(y + 1, 0, 1);
    if (d === undefined) return utc(y, m, 1);
    return utc(y, m - 1, d + 1);
  }
  const fraction = /\.([0-9]+)/.exec(text);
  const step = fraction ? Math.max(1, 1000 / 10 ** fraction[1].length) : 1000;
  return parseTime(text) + step;
}

function splitDate(text: string): [number, number | undefined, number | undefined] {
  const [y, m, d] = text.slice(0, 10).split("-");
  return [Number(y), m === undefined ? undefined : Number(m), d === undefined ? undefined : Number(d)];
}

/** `Date.UTC` without its mapping of years 0-99 to 1900-1999; month is 0-based and may overflow. */
function utc(year: number, month: number, day: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  return date.getTime();
}

function calendarOk(text: string): boolean {
  const [y, m, d] = splitDate(text);
  if (m === undefined || d === undefined) return true;
  const daysInMonth = new Date(utc(y, m, 0)).getUTCDate();
  return d <= daysInMonth;
}

/** An ISO 8601 instant in UTC without milliseconds, e.g. `2024-01-01T07:30:00Z`. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
