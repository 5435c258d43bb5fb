/**
 * The package as a dependency, end to end (CI, after `npm run build`): packs the project, checks what the tarball
 * holds (no test contracts, no local deployment records), installs it into a fresh temporary app with TypeScript
 * (`module`/`moduleResolution` node16) and ethers, type-checks the README's examples (examples/*.ts) there, and runs
 * them against a `hardhat node` it starts on a free port and stops: deploy (twice: the second finds everything in
 * place), then attach, accredit, create, grant, check, revoke, events and a refused call.
 *
 *   npm run build && npm run package:check          (KEEP_APP=1 keeps the temporary app)
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startLocalNode, type LocalNode } from "./local-node";

const ROOT = path.resolve(__dirname, "..");
const STEP_TIMEOUT_MS = 120_000;

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const started = Date.now();
  const result = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: STEP_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  console.log(`  ${cmd} ${args.join(" ")}  (${seconds} s)`);
  return result.stdout;
}

function expectIn(output: string, ...wanted: RegExp[]): void {
  for (const pattern of wanted) {
    if (!pattern.test(output)) throw new Error(`expected ${pattern} in:\n${output}`);
  }
}

/** The exact version the lockfile installs here, so the app's install is served from the npm cache. */
function lockedVersion(name: string): string {
  const lock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, { version?: string }>;
  };
  const version = lock.packages[`node_modules/${name}`]?.version;
  if (!version) throw new Error(`${name} is not in package-lock.json`);
  return version;
}

function checkTarball(files: readonly string[]): void {
  const forbidden = files.filter(
    (f) =>
      /^contracts\/(test|baseline)\//.test(f) ||
      /\/test\/|Mock/.test(f) ||
      /^deployments\/(hardhat|localhost)\//.test(f) ||
      /^(test|scripts|src|cache|artifacts)\//.test(f),
  );
  if (forbidden.length > 0) throw new Error(`the tarball ships what it must not:\n${forbidden.join("\n")}`);
  for (const needed of [
    "deployments/release.json",
    "dist/src/chain/index.js",
    "dist/src/chain/index.d.ts",
    "README.md",
  ]) {
    if (!files.includes(needed)) throw new Error(`the tarball lacks ${needed}`);
  }
}

function makeApp(app: string, tarball: string): void {
  writeFileSync(
    path.join(app, "package.json"),
    JSON.stringify({ name: "twinledger-example-app", private: true }, null, 2),
  );
  copyFileSync(path.join(ROOT, "examples", "tsconfig.json"), path.join(app, "tsconfig.json"));
  for (const file of readdirSync(path.join(ROOT, "examples")).filter((f) => f.endsWith(".ts"))) {
    copyFileSync(path.join(ROOT, "examples", file), path.join(app, file));
  }
  const tools = ["typescript", "ethers", "@types/node"].map((name) => `${name}@${lockedVersion(name)}`);
  // --ignore-scripts: the examples load no native module (better-sqlite3 is needed by twinledger/indexer only).
  run("npm", ["install", tarball, ...tools, "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"], app);
}

async function main(): Promise<void> {
  const started = Date.now();
  const work = mkdtempSync(path.join(os.tmpdir(), "twinledger-package-"));
  let node: LocalNode | undefined;
  try {
    console.log("pack");
    const packed = JSON.parse(run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], ROOT)) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = packed[0].files.map((f) => f.path);
    checkTarball(files);
    console.log(`  ${files.length} files, no test contract or mock (source or binding), no local network's records`);

    console.log("a fresh app with the tarball");
    const app = path.join(work, "app");
    mkdirSync(app);
    makeApp(app, path.join(work, packed[0].filename));
    run(path.join(app, "node_modules", ".bin", "tsc"), ["-p", "."], app);

    console.log("the examples against hardhat node");
    node = await startLocalNode("hardhat", { timeoutMs: 60_000 });
    const env = { RPC_URL: node.url };
    const first = run("node", ["out/deploy.js"], app, env);
    expectIn(first, /TwinRegistry deployed at 0x/, /TwinUpdateLog deployed at 0x/);
    const second = run("node", ["out/deploy.js"], app, env);
    expectIn(second, /TwinRegistry already at 0x\w+: skipped/, /ConsentPolicy already at/);
    const story = run("node", ["out/consent.js"], app, env);
    expectIn(
      story,
      /before accreditation, createTwin is refused: NotCustodian\(0x/,
      /clinician may read vitals for treatment: true/,
      /after revoke: false/,
      /events: 1 ConsentGranted .* 1 ConsentRevoked/,
      /a stranger's grant is refused: NotTwinController\(0x/,
    );
    process.stdout.write(first + second + story);
    console.log(`package check passed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await node?.stop();
    if (process.env.KEEP_APP) console.log(`app kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
