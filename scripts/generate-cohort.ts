/**
 * Writes a seeded synthetic cohort (no real patient data).
 *
 *   npx ts-node scripts/generate-cohort.ts [outDir] [--seed N] [--patients N] [--days N] [--interval S] [--start ISO]
 *     writes outDir (default data/cohort, git-ignored): manifest.json, and per patient
 *     <patientId>/emr.json (a FHIR Bundle) and <patientId>/wearable.ndjson (the Device, then one
 *     Observation per line, as FHIR bulk data is written), streamed so large cohorts fit in memory.
 *
 *   npx ts-node scripts/generate-cohort.ts --single-file test/fixtures/cohort-small.json --seed 42 --patients 2 --days 1 --interval 1800
 *     writes the whole cohort as one JSON file (the committed test fixture is made this way).
 *
 * Only counts are printed, never values.
 */
import * as fs from "fs";
import * as path from "path";
import {
  COHORT_FORMAT,
  cohortToJson,
  emrBundle,
  generateCohort,
  planPatient,
  resolveCohortOptions,
  wearableDevice,
  wearableObservations,
  type CohortOptions,
} from "../src/fhir";

interface Args {
  readonly outDir: string;
  readonly singleFile?: string;
  readonly options: CohortOptions;
}

function parseArgs(argv: readonly string[]): Args {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith("--")) {
      const value = argv[i + 1];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      flags.set(arg.slice(2), value);
      i++;
    } else positional.push(arg);
  }
  const known = new Set(["seed", "patients", "days", "interval", "start", "single-file"]);
  for (const name of flags.keys()) if (!known.has(name)) throw new Error(`unknown option --${name}`);
  const int = (name: string, fallback: number) => {
    const text = flags.get(name);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer`);
    return n;
  };
  return {
    outDir: positional[0] ?? path.join("data", "cohort"),
    singleFile: flags.get("single-file"),
    options: {
      seed: int("seed", 42),
      patients: int("patients", 10),
      days: int("days", 7),
      intervalSeconds: int("interval", 60),
      ...(flags.has("start") ? { start: flags.get("start") } : {}),
    },
  };
}

function writeSingleFile(file: string, options: CohortOptions): void {
  const cohort = generateCohort(options);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, cohortToJson(cohort));
  const observations = cohort.patients.reduce((n, p) => n + (p.wearable.entry?.length ?? 1) - 1, 0);
  console.log(`wrote ${file}: ${cohort.patients.length} patients, ${observations} wearable observations`);
}

function writeFolder(outDir: string, options: CohortOptions): void {
  const resolved = resolveCohortOptions(options);
  fs.mkdirSync(outDir, { recursive: true });
  const manifest = [];
  let total = 0;
  for (let index = 0; index < resolved.patients; index++) {
    const plan = planPatient(resolved, index);
    const dir = path.join(outDir, plan.patientId);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "emr.json"), `${JSON.stringify(emrBundle(resolved, plan), null, 2)}\n`);
    const fd = fs.openSync(path.join(dir, "wearable.ndjson"), "w");
    try {
      let lines = [JSON.stringify(wearableDevice(plan))];
      for (const observation of wearableObservations(resolved, plan)) {
        lines.push(JSON.stringify(observation));
        total++;
        if (lines.length >= 1000) {
          fs.writeSync(fd, `${lines.join("\n")}\n`);
          lines = [];
        }
      }
      if (lines.length > 0) fs.writeSync(fd, `${lines.join("\n")}\n`);
    } finally {
      fs.closeSync(fd);
    }
    manifest.push({
      patientId: plan.patientId,
      deviceId: plan.deviceId,
      conditions: plan.conditions,
      episodes: plan.episodes,
      files: { emr: `${plan.patientId}/emr.json`, wearable: `${plan.patientId}/wearable.ndjson` },
    });
  }
  const content = { format: COHORT_FORMAT, options: resolved, patients: manifest };
  fs.writeFileSync(path.join(outDir, "manifest.json"), `${JSON.stringify(content, null, 2)}\n`);
  console.log(`wrote ${outDir}: ${resolved.patients} patients, ${total} wearable observations`);
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  if (args.singleFile !== undefined) writeSingleFile(args.singleFile, args.options);
  else writeFolder(args.outDir, args.options);
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : "cohort generation failed");
  process.exitCode = 1;
}
