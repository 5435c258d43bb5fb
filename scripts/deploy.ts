/**
 * Deploys and wires TwinRegistry, ConsentPolicy and TwinUpdateLog on the selected network and writes
 * deployments/<network>/<Contract>.json (address, abi, transaction hash, block, deployer, constructor
 * arguments, gas used).
 *
 *   npx hardhat run scripts/deploy.ts --network localhost
 *   TESTNET_RPC_URL=... TESTNET_DEPLOYER_KEY=... npx hardhat run scripts/deploy.ts --network testnet
 *
 * Optional environment: TWINLEDGER_ADMIN (default admin, e.g. a multisig or TimelockController;
 * defaults to the deployer), TWINLEDGER_GOVERNANCE (comma-separated accounts
 * given GOVERNANCE_ROLE when the deployer is the admin).
 */
import { ethers, network } from "hardhat";
import { deployTwinLedger } from "../src/chain/deploy";
import { CONTRACT_ABIS, writeDeploymentRecords } from "../src/chain/deployments";

async function main(): Promise<void> {
  const [deployer] = await ethers.getSigners();
  const { chainId } = await ethers.provider.getNetwork();
  const governance = (process.env.TWINLEDGER_GOVERNANCE ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const deployment = await deployTwinLedger({
    deployer,
    admin: process.env.TWINLEDGER_ADMIN,
    governance: governance.length > 0 ? governance : [deployer.address],
  });
  const records = writeDeploymentRecords(deployment.contracts, {
    network: network.name,
    chainId: Number(chainId),
    abis: CONTRACT_ABIS,
  });
  console.log(`TwinLedger deployed on ${network.name} (chain ${chainId}) by ${deployer.address}`);
  for (const r of records) {
    console.log(`  ${r.contractName.padEnd(14)} ${r.address}  block ${r.blockNumber}  gas ${r.gasUsed}`);
  }
  console.log(`Records written to deployments/${network.name}/`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
