// `npm run demo [-- --study]`: `hardhat run` passes a script no arguments, so the chapter is chosen here and handed to
// scripts/demo.ts in the environment (TWINLEDGER_DEMO=study runs scripts/demo-study.ts).
const { spawnSync } = require("node:child_process");

const args = process.argv.slice(2);
const unknown = args.filter((arg) => arg !== "--study");
if (unknown.length > 0) {
  console.error(`unknown option ${unknown.join(" ")} (npm run demo [-- --study])`);
  process.exit(2);
}
const env = { ...process.env };
if (args.includes("--study")) env.TWINLEDGER_DEMO = "study";
const cli = require.resolve("hardhat/internal/cli/cli");
const result = spawnSync(process.execPath, [cli, "run", "scripts/demo.ts"], { stdio: "inherit", env });
process.exit(result.status ?? 1);
