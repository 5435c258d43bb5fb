import type { CheckedCoding } from "./check";
import type { Concept } from "./facts";

/**
 * Which text names a record. The rule: `CodeableConcept.text` (what the clinician saw) wins,
 * unless it is empty or a placeholder, a null flavor an exporter wrote instead of leaving the
 * text out ("Null", "unknown", "UNK", "N/A", ...); then the display of the chosen coding, then
 * of any coding; then a display given elsewhere (e.g. `medicationReference.display`).
 */

/** HL7 v3 NullFlavor codes and the placeholders exporters write, compared case-insensitively. */
const NULL_FLAVORS: ReadonlySet<string> = new Set([
  "null",
  "nil",
  "none",
  "undefined",
  "unknown",
  "n/a",
  "na",
  "-",
  "--",
  "?",
  "ni",
  "unk",
  "asku",
  "nav",
  "nask",
  "msk",
  "oth",
  "ninf",
  "pinf",
  "np",
  "inv",
  "no information",
  "not applicable",
  "not available",
]);

/** Whether a text is a placeholder rather than a name. */
export function isPlaceholderText(text: string | undefined): boolean {
  if (text === undefined) return true;
  const t = text.trim().toLowerCase();
  return t === "" || NULL_FLAVORS.has(t);
}

/** The display of a concept (see the rule above); `chosen` is the coding the record's code is. */
export function displayOf(
  concept: Concept | undefined,
  chosen: CheckedCoding | undefined,
  fallback?: string,
): string | undefined {
  if (concept !== undefined && !isPlaceholderText(concept.text)) return concept.text;
  if (chosen !== undefined && !isPlaceholderText(chosen.display)) return chosen.display;
  const any = concept?.codings.find((c) => !isPlaceholderText(c.display));
  if (any !== undefined) return any.display;
  return isPlaceholderText(fallback) ? undefined : fallback;
}
