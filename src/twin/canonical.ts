import { bytesToHex } from "@noble/hashes/utils.js";
import { keccak256 } from "../crypto/keccak";
import { TwinEngineError } from "./errors";

/**
 * Canonical JSON, the byte form every commitment of the twin is taken over:
 *
 * - objects: members sorted by key (UTF-16 code unit order, `Array.prototype.sort`), members
 *   whose value is `undefined` left out, `null` kept;
 * - arrays: in their given order (the model keeps every list in a documented order);
 * - strings: as `JSON.stringify` escapes them;
 * - numbers: rounded to 6 decimal places with `toFixed(6)`, then trailing zeros and a trailing
 *   dot dropped, and `-0` written `0` (so 72 → `72`, 72.5 → `72.5`, 1/3 → `0.333333`);
 *   NaN, ±Infinity and |n| ≥ 1e21 are rejected;
 * - booleans `true`/`false`; no whitespace anywhere;
 * - the text is hashed as UTF-8.
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  write(value, parts);
  return parts.join("");
}

/** The fixed number format of canonical JSON. */
export function canonicalNumber(n: number): string {
  if (!Number.isFinite(n) || Math.abs(n) >= 1e21) {
    throw new TwinEngineError("TWIN_NOT_CANONICAL", "a number is not finite or too large for canonical form");
  }
  if (Number.isInteger(n)) return n === 0 ? "0" : String(n);
  let text = n.toFixed(6);
  if (text.includes(".")) text = text.replace(/0+$/, "").replace(/\.$/, "");
  return text === "-0" ? "0" : text;
}

const utf8 = new TextEncoder();

/**
 * keccak256 of the UTF-8 bytes of `text`, as 0x-prefixed lower-case hex; with src/crypto/keccak.ts (the native binding
 * where it loads, noble in the browser).
 */
export function keccakUtf8(text: string): string {
  return `0x${bytesToHex(keccak256(utf8.encode(text)))}`;
}

/** keccak256 of the UTF-8 canonical JSON of `value`. */
export function canonicalHash(value: unknown): string {
  return keccakUtf8(canonicalJson(value));
}

function write(value: unknown, out: string[]): void {
  switch (typeof value) {
    case "string":
      out.push(JSON.stringify(value));
      return;
    case "number":
      out.push(canonicalNumber(value));
      return;
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "object":
      if (value === null) {
        out.push("null");
      } else if (Array.isArray(value)) {
        out.push("[");
        value.forEach((item: unknown, index) => {
          if (index > 0) out.push(",");
          write(item === undefined ? null : item, out);
        });
        out.push("]");
      } else {
        const record = value as Record<string, unknown>;
        out.push("{");
        let first = true;
        for (const key of Object.keys(record).sort()) {
          const member = record[key];
          if (member === undefined) continue;
          if (!first) out.push(",");
          first = false;
          out.push(JSON.stringify(key), ":");
          write(member, out);
        }
        out.push("}");
      }
      return;
    default:
      throw new TwinEngineError("TWIN_NOT_CANONICAL", `a ${typeof value} cannot be put in canonical form`);
  }
}
