/**
 * Regenerates the gas report (`npm run gas`: the contract tests and the gas budget tests under
 * hardhat-gas-reporter) and fails if the committed reports/gas-report.json no longer matches it:
 * a method or deployment appeared or disappeared, or its average moved by more than the tolerance.
 * The budgets themselves are exact checks in test/gas/budgets.test.ts, which this run includes.
 * Block timestamps vary between runs and change a few calldata bytes, hence a small tolerance.
 *
 *   ts-node scripts/check-gas-report.ts [tolerancePercent=1]
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { GAS_DESCRIPTIONS, GAS_DOC, gasDoc, measuredFunctions } from "./gas-doc";

const REPORT = "reports/gas-report.json";
const tolerance = Number(process.argv[2] ?? 1) / 100;

/** The fields of hardhat-gas-reporter 2's JSON that the check reads (averages include intrinsic gas). */
interface GasReport {
  data: {
    methods: Record<string, { contract: string; fnSig: string; numberOfCalls: number; executionGasAverage?: number }>;
    deployments: { name: string; executionGasAverage?: number }[];
  };
}

function figures(report: GasReport): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of Object.values(report.data.methods)) {
    if (m.numberOfCalls > 0 && m.executionGasAverage !== undefined)
      out.set(`${m.contract}.${m.fnSig}`, m.executionGasAverage);
  }
  for (const d of report.data.deployments) {
    if (d.executionGasAverage !== undefined) out.set(`deploy ${d.name}`, d.executionGasAverage);
  }
  return out;
}

// docs/GAS.md must match the committed report (it is regenerated with it: `npx ts-node scripts/gas-doc.ts`).
const docCurrent = existsSync(REPORT) && existsSync(GAS_DOC) && readFileSync(GAS_DOC, "utf8") === gasDoc();
const committed = existsSync(REPORT) ? figures(JSON.parse(readFileSync(REPORT, "utf8")) as GasReport) : new Map();
execFileSync("npm", ["run", "gas"], { stdio: "inherit" });
const fresh = figures(JSON.parse(readFileSync(REPORT, "utf8")) as GasReport);

const problems: string[] = [];
for (const [name, gas] of fresh) {
  const before = committed.get(name);
  if (before === undefined) problems.push(`${name}: new (avg ${gas}), not in the committed report`);
  else if (Math.abs(gas - before) > before * tolerance) problems.push(`${name}: avg ${before} committed, ${gas} now`);
}
for (const name of committed.keys()) {
  if (!fresh.has(name)) problems.push(`${name}: in the committed report, no longer measured`);
}
// docs/GAS.md annotates each function of the report: a new function needs its description, and the doc its figures.
for (const fn of measuredFunctions()) {
  if (!(fn in GAS_DESCRIPTIONS)) problems.push(`${fn}: no description in scripts/gas-doc.ts (GAS_DESCRIPTIONS)`);
}
if (!docCurrent) problems.push("docs/GAS.md does not match the committed report: run `npx ts-node scripts/gas-doc.ts`");
if (problems.length > 0) {
  console.error(
    `\nThe committed ${REPORT} is not current (run \`npm run gas\` and commit reports/):\n  ${problems.join("\n  ")}`,
  );
  process.exit(1);
}
console.log(
  `\ngas report current: ${fresh.size} methods and deployments within ${tolerance * 100}% of the committed figures`,
);
