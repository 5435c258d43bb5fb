/**
 * JSON text laid out the way Prettier lays out JSON (two-space indent, arrays of plain values on
 * one line when they fit the print width), so that formatting a generated fixture changes nothing
 * and it stays byte-identical to what the generator writes.
 */
export function prettyJson(value: unknown, printWidth = 120): string {
  return `${render(value, "", "", false, printWidth)}\n`;
}

function render(value: unknown, indent: string, prefix: string, comma: boolean, width: number): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    if (value.every((v) => v === null || typeof v !== "object")) {
      const inline = `[${value.map((v) => JSON.stringify(v) ?? "null").join(", ")}]`;
      if (indent.length + prefix.length + inline.length + (comma ? 1 : 0) <= width) return inline;
    }
    const items = value.map((v, i) => `${inner}${render(v, inner, "", i < value.length - 1, width)}`);
    return `[\n${items.join(",\n")}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return "{}";
  const lines = entries.map(([k, v], i) => {
    const key = `${JSON.stringify(k)}: `;
    return `${inner}${key}${render(v, inner, key, i < entries.length - 1, width)}`;
  });
  return `{\n${lines.join(",\n")}\n${indent}}`;
}
