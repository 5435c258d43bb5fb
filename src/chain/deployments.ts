import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
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
import {
  CONTRACT_NAMES,
  type ContractName,
  type DeployedContract,
  type DeployStrategy,
  type ExistingContract,
} from "./deploy";
import { DEFAULT_DEPLOYMENTS_DIR } from "./package-root";

export { DEFAULT_DEPLOYMENTS_DIR } from "./package-root";

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
  /** The deploying transaction; null for a CREATE2 contract found already in place with no earlier record. */
  readonly transactionHash: string | null;
  readonly blockNumber: number | null;
  readonly deployer: string | null;
  readonly constructorArgs: readonly (string | number)[];
  readonly gasUsed: string | null;
  /** `"create2"` records carry the salt and the factory (the deterministic deployment proxy). */
  readonly strategy?: DeployStrategy;
  readonly salt?: string;
  readonly factory?: string;
  readonly abi: InterfaceAbi;
}

/** Where records are looked up: an explicit folder, or else `<cwd>/deployments` then the package's own. */
export interface DeploymentLookup {
  /** The one folder to read (it holds `<network>/<Contract>.json`). */
  readonly dir?: string;
}

/** The folders searched, in order: the explicit one alone, or `<cwd>/deployments` and then the package's `deployments/`. */
export function deploymentDirs(lookup: string | DeploymentLookup = {}): string[] {
  const dir = typeof lookup === "string" ? lookup : lookup.dir;
  if (dir) return [path.resolve(dir)];
  return [...new Set([path.resolve(process.cwd(), "deployments"), DEFAULT_DEPLOYMENTS_DIR])];
}

/** The networks that have records in the searched folders. */
export function recordedNetworks(lookup: string | DeploymentLookup = {}): string[] {
  const networks = deploymentDirs(lookup).flatMap((dir) =>
    existsSync(dir)
      ? readdirSync(dir, { withFileTypes: true })
          .filter((e) => e.isDirectory() && existsSync(path.join(dir, e.name, `${CONTRACT_NAMES[0]}.json`)))
          .map((e) => e.name)
      : [],
  );
  return [...new Set(networks)].sort();
}

function receiptFields(c: DeployedContract | ExistingContract, previous: DeploymentRecord | null) {
  if ("receipt" in c) {
    return {
      transactionHash: c.receipt.hash,
      blockNumber: c.receipt.blockNumber,
      deployer: c.receipt.from,
      gasUsed: c.receipt.gasUsed.toString(),
    };
  }
  if (previous && previous.address.toLowerCase() === c.address.toLowerCase()) {
    const { transactionHash, blockNumber, deployer, gasUsed } = previous;
    return { transactionHash, blockNumber, deployer, gasUsed };
  }
  return { transactionHash: null, blockNumber: null, deployer: null, gasUsed: null };
}

function readIfThere(file: string): DeploymentRecord | null {
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as DeploymentRecord) : null;
}

/**
 * Writes one JSON record per contract under `<dir>/<network>/` (by default `<cwd>/deployments`) and returns the
 * records. A contract a CREATE2 deployment found in place keeps the transaction facts of its earlier record.
 */
export function writeDeploymentRecords(
  contracts: readonly (DeployedContract | ExistingContract)[],
  meta: {
    network: string;
    chainId: number;
    abis: Record<ContractName, InterfaceAbi>;
    strategy?: DeployStrategy;
    salt?: string;
    factory?: string;
  },
  dir: string = path.resolve(process.cwd(), "deployments"),
): DeploymentRecord[] {
  const networkDir = path.join(dir, meta.network);
  mkdirSync(networkDir, { recursive: true });
  return contracts.map((c) => {
    const file = path.join(networkDir, `${c.name}.json`);
    const create2 =
      meta.strategy === "create2" ? { strategy: meta.strategy, salt: meta.salt, factory: meta.factory } : {};
    const record: DeploymentRecord = {
      contractName: c.name,
      network: meta.network,
      chainId: meta.chainId,
      address: c.address,
      ...receiptFields(c, readIfThere(file)),
      constructorArgs: c.constructorArgs,
      ...create2,
      abi: meta.abis[c.name],
    };
    writeFileSync(file, JSON.stringify(record, null, 2) + "\n");
    return record;
  });
}

/**
 * Reads the record of one contract on a network, from the first searched folder that has it (see `deploymentDirs`);
 * a missing or malformed record is a typed error naming the folders searched and the networks they hold.
 */
export function readDeploymentRecord(
  network: string,
  name: ContractName,
  lookup: string | DeploymentLookup = {},
): DeploymentRecord {
  const dirs = deploymentDirs(lookup);
  const file = dirs.map((dir) => path.join(dir, network, `${name}.json`)).find((f) => existsSync(f));
  if (!file) {
    const known = recordedNetworks(lookup);
    throw new TwinLedgerError(
      "DEPLOYMENT_MISSING",
      `no deployment record ${name} for network ${network} in ${dirs.join(", ")}` +
        (known.length > 0 ? ` (records exist for: ${known.join(", ")})` : " (no records there)"),
    );
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

/**
 * Typed contracts attached to the recorded addresses of a network: records are read from `lookup` (a folder), or
 * else from `<cwd>/deployments` and then from the package's `deployments/`.
 */
export function attachDeployment(
  network: string,
  runner: Signer | Provider,
  lookup: string | DeploymentLookup = {},
): AttachedTwinLedger {
  const records = Object.fromEntries(
    CONTRACT_NAMES.map((name) => [name, readDeploymentRecord(network, name, lookup)]),
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
