#!/usr/bin/env node
// A solc "binary" for forge, backed by the pinned solc-js from npm (forge cannot download compilers here).
// foundry.toml's `solc` points at this file. forge runs it twice:
//   forge-solc.cjs --version          -> prints the version line forge parses
//   forge-solc.cjs --standard-json .. -> reads standard JSON from stdin, writes the output JSON to stdout
// Other flags forge passes (--allow-paths, --base-path, --include-path) are ignored: imports that forge did not
// already inline into `sources` are resolved by the callback below, from the project root and node_modules.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const SEARCH = [ROOT, path.join(ROOT, "node_modules")];

if (process.argv.includes("--version") || process.argv.includes("-v")) {
  // The version line of a native build, so that forge accepts it as 0.8.28 (solc-js says ...Emscripten.clang).
  process.stdout.write(
    "solc, the solidity compiler commandline interface\nVersion: 0.8.28+commit.7893614a.Linux.g++\n",
  );
  process.exit(0);
}

/** Resolves an import that is not in the input: project root first, then node_modules. */
function findImport(importPath) {
  for (const base of SEARCH) {
    const file = path.resolve(base, importPath);
    if (!file.startsWith(ROOT + path.sep)) continue; // never read outside the project
    if (fs.existsSync(file)) return { contents: fs.readFileSync(file, "utf8") };
  }
  return { error: `File not found: ${importPath}` };
}

const chunks = [];
process.stdin.on("data", (chunk) => chunks.push(chunk));
process.stdin.on("end", () => {
  const solc = require("solc");
  const input = Buffer.concat(chunks).toString("utf8");
  process.stdout.write(solc.compile(input, { import: findImport }));
});
