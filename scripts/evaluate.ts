/**
 * The evaluation: `npm run evaluate` (full, about 10 minutes on 2 cores) or `npm run evaluate -- --quick` (CI,
 * about 3 minutes). Writes reports/evaluation.md, reports/evaluation.json and the SVG charts. The parts are in
 * src/evaluation/; this script only reads the command line, loads Hardhat's runtime and cleans up.
 */
import { resolve } from "node:path";
import { USAGE, parseArgs } from "../src/evaluation/args";
import { killEmbeddedPostgres } from "../src/evaluation/embedded-postgres";
import { removeGatewayTempDirs } from "../src/evaluation/gateway";
import { killAllNodes } from "../src/evaluation/node-process";

/** Kills the started node and removes temporary folders; synchronous, for signal and exit handlers. */
function cleanUp(): void {
  killAllNodes();
  killEmbeddedPostgres();
  removeGatewayTempDirs();
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log(USAGE);
    return;
  }
  // Started nodes die with us, whatever the way out.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      cleanUp();
      process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
    });
  }
  process.once("exit", cleanUp);

  const root = resolve(__dirname, "..");
  const hre = (await import("hardhat")).default;
  const { runEvaluation } = await import("../src/evaluation/run");
  const result = await runEvaluation(hre, args, root);
  console.log(
    `evaluation (${result.meta.mode}) written to ${args.outDir}/ in ${result.meta.durationSeconds.toFixed(0)} s`,
  );
  for (const t of result.targets) console.log(`  ${t.verdict.padEnd(12)} ${t.target}: ${t.measured}`);
}

main().catch((error: unknown) => {
  cleanUp();
  console.error(error);
  process.exitCode = 1;
});
