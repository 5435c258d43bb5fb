import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import path from "node:path";
import type { InterfaceAbi, Provider, Signer } from "ethers";
import {
  ConsentPolicy__factory,
  TwinRegistry__factory,
  TwinUpdateLog__factory,
  type ConsentPolicy,
  type TwinRegistry,
  type TwinUpdateLog,
} from "../../typechain-types";
import { TwinLedgerError } from "../errors";
import { CONTRACT_NAMES, type ContractName, type DeployedContract } from "./deploy";

/**
 * Deployment records: `deployments/<network>/<Contract>.json`, one per contract, written by
 * scripts/deploy.ts and read by anything that attaches to a deployed TwinLedger (the demo against
 * localhost, the gateway, the indexer, integrators).
 */
export interface DeploymentRecord {
  readonly contractName: ContractName;
  readonly network: string;
  readonly chainId: number;
  readonly address: string;
  readonly transactionHash: string;
  readonly blockNumber: number;
  readonly deployer: string;
  readonly constructorArgs: readonly (string | number)[];
  readonly gasUsed: string;
  readonly abi: InterfaceAbi;
}

export const DEFAULT_DEPLOYMENTS_DIR = path.resolve(__dirname, "../../deployments");

/** Writes one JSON record per contract under `<dir>/<network>/` and returns the records. */
export function writeDeploymentRecords(
  contracts: readonly DeployedContract[],
  meta: { network: string; chainId: number; abis: Record<ContractName, InterfaceAbi> },
  dir: string = DEFAULT_DEPLOYMENTS_DIR,
): DeploymentRecord[] {
  const networkDir = path.join(dir, meta.network);
  mkdirSync(networkDir, { recursive: true });
  return contracts.map((c) => {
    const record: DeploymentRecord = {
      contractName: c.name,
      network: meta.network,
      chainId: meta.chainId,
      address: c.address,
      transactionHash: c.receipt.hash,
      blockNumber: c.receipt.blockNumber,
      deployer: c.receipt.from,
      constructorArgs: c.constructorArgs,
      gasUsed: c.receipt.gasUsed.toString(),
      abi: meta.abis[c.name],
    };
    writeFileSync(path.join(networkDir, `${c.name}.json`), JSON.stringify(record, null, 2) + "\n");
    return record;
  });
}

/** Reads the record of one contract on a network; a missing or malformed record is a typed error. */
export function readDeploymentRecord(
  network: string,
  name: ContractName,
  dir: string = DEFAULT_DEPLOYMENTS_DIR,
): DeploymentRecord {
  const file = path.join(dir, network, `${name}.json`);
  if (!existsSync(file)) {
    throw new TwinLedgerError("DEPLOYMENT_MISSING", `no deployment record ${name} for network ${network} at ${file}`);
  }
  const record = JSON.parse(readFileSync(file, "utf8")) as Partial<DeploymentRecord>;
  if (
    record.contractName !== name ||
    typeof record.address !== "string" ||
    !/^0x[0-9a-fA-F]{40}$/.test(record.address)
  ) {
    throw new TwinLedgerError("DEPLOYMENT_INVALID", `deployment record ${file} has no valid contractName/address`);
  }
  return record as DeploymentRecord;
}

export interface AttachedTwinLedger {
  readonly registry: TwinRegistry;
  readonly consent: ConsentPolicy;
  readonly updateLog: TwinUpdateLog;
  readonly records: Record<ContractName, DeploymentRecord>;
}

/** Typed contracts attached to the recorded addresses of a network. */
export function attachDeployment(
  network: string,
  runner: Signer | Provider,
  dir: string = DEFAULT_DEPLOYMENTS_DIR,
): AttachedTwinLedger {
  const records = Object.fromEntries(
    CONTRACT_NAMES.map((name) => [name, readDeploymentRecord(network, name, dir)]),
  ) as Record<ContractName, DeploymentRecord>;
  return {
    registry: TwinRegistry__factory.connect(records.TwinRegistry.address, runner),
    consent: ConsentPolicy__factory.connect(records.ConsentPolicy.address, runner),
    updateLog: TwinUpdateLog__factory.connect(records.TwinUpdateLog.address, runner),
    records,
  };
}

/** The ABIs of the deployed contracts, from the typechain factories. */
export const CONTRACT_ABIS: Record<ContractName, InterfaceAbi> = {
  TwinRegistry: TwinRegistry__factory.abi,
  ConsentPolicy: ConsentPolicy__factory.abi,
  TwinUpdateLog: TwinUpdateLog__factory.abi,
};
