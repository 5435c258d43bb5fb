/**
 * Writes deployments/release.json: the release's ABIs, code (for verification) and canonical CREATE2 addresses, from
 * the compiled artifacts. Run it after changing a contract; test/src/chain/deployments-release.test.ts fails until
 * the committed manifest is current.
 *
 *   npm run deployments:release
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { CONTRACT_NAMES, type ContractName } from "../src/chain/deploy";
import {
  buildReleaseManifest,
  RELEASE_MANIFEST,
  type CompiledRuntime,
  type ReleaseManifest,
} from "../src/chain/release";

const ROOT = path.resolve(__dirname, "..");

/** The compiler's runtime output (code and immutable references) of the three contracts. */
export async function compiledRuntime(hre: HardhatRuntimeEnvironment): Promise<Record<ContractName, CompiledRuntime>> {
  const entries = await Promise.all(
    CONTRACT_NAMES.map(async (name) => {
      const fqn = `contracts/${name}.sol:${name}`;
      const buildInfo = await hre.artifacts.getBuildInfo(fqn);
      if (!buildInfo) throw new Error(`no build info for ${fqn}: run npx hardhat compile`);
      const evm = buildInfo.output.contracts[`contracts/${name}.sol`][name].evm;
      const runtime: CompiledRuntime = {
        deployedBytecode: `0x${evm.deployedBytecode.object}`,
        immutableReferences: evm.deployedBytecode.immutableReferences ?? {},
      };
      return [name, runtime] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<ContractName, CompiledRuntime>;
}

/** The manifest the current artifacts and package version give. */
export async function currentReleaseManifest(hre: HardhatRuntimeEnvironment): Promise<ReleaseManifest> {
  const { version } = require(path.join(ROOT, "package.json")) as { version: string };
  return buildReleaseManifest(version, await compiledRuntime(hre));
}

async function main(): Promise<void> {
  const hre = (await import("hardhat")).default;
  await hre.run("compile", { quiet: true });
  const manifest = await currentReleaseManifest(hre);
  const file = path.join(ROOT, "deployments", RELEASE_MANIFEST);
  writeFileSync(file, JSON.stringify(manifest, null, 2) + "\n");
  console.log(`wrote ${path.relative(ROOT, file)} (release ${manifest.version}, salt ${manifest.saltLabel})`);
  for (const [name, address] of Object.entries(manifest.development.addresses)) {
    console.log(`  ${name.padEnd(14)} ${address}`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
