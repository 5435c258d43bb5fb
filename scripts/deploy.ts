/**
 * Deploys TwinRegistry, ConsentPolicy and TwinUpdateLog on the selected network with CREATE2 through the
 * deterministic deployment proxy (put in place first on a development node), so the addresses are the same on every
 * chain for this release, salt and admin. Idempotent: a contract already at its address is skipped, and said so.
 * Then checks the code at each address against the compiled artifacts (immutables masked) and writes
 * deployments/<network>/<Contract>.json (address, abi, transaction, block, deployer, constructor arguments, gas,
 * salt and factory).
 *
 *   npx hardhat run scripts/deploy.ts --network localhost
 *   TESTNET_RPC_URL=... TESTNET_DEPLOYER_KEY=... npx hardhat run scripts/deploy.ts --network testnet
 *
 * Optional environment: TWINLEDGER_ADMIN (default admin, e.g. a multisig or TimelockController; defaults to the
 * deployer; it is a constructor argument, so it changes the addresses), TWINLEDGER_ADMIN_DELAY (seconds, default 2
 * days; also part of the addresses), TWINLEDGER_GOVERNANCE (comma-separated accounts given GOVERNANCE_ROLE when the
 * deployer is the admin; default the deployer), TWINLEDGER_SALT (a label hashed into the salt; default the release's).
 */
import hre, { ethers, network } from "hardhat";
import { id } from "ethers";
import { DEPLOYMENT_SALT, deployTwinLedger, predictTwinLedgerAddresses } from "../src/chain/deploy";
import { CONTRACT_ABIS, writeDeploymentRecords } from "../src/chain/deployments";
import { DETERMINISTIC_DEPLOYER, ensureDeterministicDeployer } from "../src/chain/deterministic";
import { verifyDeployedCode } from "../src/chain/release";
import { currentReleaseManifest } from "./release-manifest";

function list(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

async function main(): Promise<void> {
  const [deployer] = await ethers.getSigners();
  const { chainId } = await ethers.provider.getNetwork();
  const admin = process.env.TWINLEDGER_ADMIN || deployer.address;
  const adminDelay = process.env.TWINLEDGER_ADMIN_DELAY ? Number(process.env.TWINLEDGER_ADMIN_DELAY) : undefined;
  const salt = process.env.TWINLEDGER_SALT ? id(process.env.TWINLEDGER_SALT) : DEPLOYMENT_SALT;
  const governance = list(process.env.TWINLEDGER_GOVERNANCE);

  console.log(`TwinLedger on ${network.name} (chain ${chainId}), deployer ${deployer.address}, admin ${admin}`);
  const factory = await ensureDeterministicDeployer(deployer);
  console.log(
    `  factory        ${DETERMINISTIC_DEPLOYER.address}  ${factory === "present" ? "present" : `put in place (${factory})`}`,
  );
  const predicted = await predictTwinLedgerAddresses({ admin, adminDelay, salt });
  const deployment = await deployTwinLedger({
    deployer,
    admin,
    adminDelay,
    salt,
    strategy: "create2",
    governance: governance.length > 0 ? governance : [deployer.address],
  });
  for (const c of deployment.existing) {
    console.log(`  ${c.name.padEnd(14)} ${c.address}  already deployed: skipped`);
  }
  for (const c of deployment.contracts) {
    console.log(
      `  ${c.name.padEnd(14)} ${c.address}  deployed in block ${c.receipt.blockNumber}, gas ${c.receipt.gasUsed}`,
    );
  }
  const all = [...deployment.existing, ...deployment.contracts];
  for (const c of all) {
    if (c.address !== predicted[c.name]) throw new Error(`${c.name} at ${c.address}, predicted ${predicted[c.name]}`);
  }
  const manifest = await currentReleaseManifest(hre);
  await verifyDeployedCode(ethers.provider, predicted, manifest);
  console.log(`  code at each address matches the artifacts of release ${manifest.version} (immutables masked)`);

  writeDeploymentRecords(all, {
    network: network.name,
    chainId: Number(chainId),
    abis: CONTRACT_ABIS,
    strategy: "create2",
    salt,
    factory: DETERMINISTIC_DEPLOYER.address,
  });
  console.log(`Records written to deployments/${network.name}/`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
