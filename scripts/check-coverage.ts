/**
 * Fails unless every product contract (contracts/, less test mocks and the evaluation baseline) has
 * the required line and branch coverage in coverage/coverage-summary.json, as written by
 * `npx hardhat coverage`. Usage: ts-node scripts/check-coverage.ts [minPercent=100]
 */
import { readFileSync } from "node:fs";
import path from "node:path";

interface Metric {
  total: number;
  covered: number;
  pct: number | "Unknown";
}
type Summary = Record<string, { lines: Metric; branches: Metric; functions: Metric; statements: Metric }>;

const min = Number(process.argv[2] ?? 100);
const summary = JSON.parse(readFileSync(path.resolve("coverage/coverage-summary.json"), "utf8")) as Summary;
const failures: string[] = [];
let files = 0;
for (const [file, m] of Object.entries(summary)) {
  if (file === "total" || !/contracts\//.test(file) || /contracts\/(test|baseline)\//.test(file)) continue;
  files += 1;
  for (const kind of ["lines", "branches", "functions", "statements"] as const) {
    const { total, covered } = m[kind];
    const pct = total === 0 ? 100 : (100 * covered) / total;
    if (pct < min) failures.push(`${path.relative(process.cwd(), file)}: ${kind} ${pct.toFixed(2)}% < ${min}%`);
  }
}
if (files === 0) {
  console.error("coverage: no contract files found in coverage/coverage-summary.json");
  process.exit(1);
}
if (failures.length > 0) {
  console.error(`coverage below ${min}%:\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
console.log(`coverage: ${files} contract files at or above ${min}% lines, branches, functions and statements`);
