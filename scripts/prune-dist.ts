/**
 * After `tsc -p tsconfig.build.json`: removes the bindings of the test-only contracts (contracts/test: mocks, lens,
 * harness) from dist/typechain-types, and their lines from the generated index files, so that the package ships no
 * test mock. The tests use typechain-types/ itself, which keeps them.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

const DIST = path.resolve(__dirname, "..", "dist", "typechain-types");
const TEST_DIRS = ["contracts/test", "factories/contracts/test"];
const INDEXES = [
  "index.js",
  "index.d.ts",
  "contracts/index.js",
  "contracts/index.d.ts",
  "factories/contracts/index.js",
  "factories/contracts/index.d.ts",
];

/** A generated line that names the test folder. */
const TEST_LINE = /\/test\/|"\.\/test"|\bas test\b|\{ test \}/;

/** The export names a test line brings in: `var Name_1 = require(".../test/...")` (js), "test" (the namespace). */
function removedNames(lines: readonly string[]): Set<string> {
  const names = new Set<string>(["test"]);
  for (const line of lines.filter((l) => TEST_LINE.test(l))) {
    const required = /^var (\w+)_1 = require\(/.exec(line);
    if (required) names.add(required[1]);
  }
  return names;
}

function prune(file: string): void {
  const lines = readFileSync(file, "utf8").split("\n");
  const removed = removedNames(lines);
  const definesRemoved = (line: string): boolean => {
    const defined = /^Object\.defineProperty\(exports, "(\w+)"/.exec(line);
    return defined !== null && removed.has(defined[1]);
  };
  const kept = lines
    .filter((line) => !TEST_LINE.test(line) && !definesRemoved(line))
    .map((line) => {
      // tsc's hoisted "exports.A = exports.B = ... = void 0;" still names the removed exports.
      if (!/= void 0;$/.test(line)) return line;
      return [...removed].reduce((l, name) => l.replace(new RegExp(`exports\\.${name} = `, "g"), ""), line);
    });
  writeFileSync(file, kept.join("\n"));
}

function main(): void {
  if (!existsSync(DIST)) throw new Error(`${DIST} does not exist: run tsc -p tsconfig.build.json first`);
  for (const dir of TEST_DIRS) rmSync(path.join(DIST, dir), { recursive: true, force: true });
  for (const index of INDEXES) {
    const file = path.join(DIST, index);
    if (existsSync(file)) prune(file);
  }
  // Loading the pruned bindings proves no index still requires a removed file.
  const bindings = require(path.join(DIST, "index.js")) as Record<string, unknown>;
  const left = Object.keys(bindings).filter((name) => /Mock|Lens|Harness/.test(name));
  if (left.length > 0 || !bindings.TwinRegistry__factory) throw new Error(`pruning failed: ${left.join(", ")}`);
}

main();
