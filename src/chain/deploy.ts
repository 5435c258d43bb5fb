import type { ContractTransactionReceipt, Signer } from "ethers";
import {
  ConsentPolicy__factory,
  TwinRegistry__factory,
  TwinUpdateLog__factory,
  type ConsentPolicy,
  type TwinRegistry,
  type TwinUpdateLog,
} from "../../typechain-types";

/** The names of the deployed contracts; deployment records are `deployments/<network>/<name>.json`. */
export const CONTRACT_NAMES = ["TwinRegistry", "ConsentPolicy", "TwinUpdateLog"] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];

export interface DeployOptions {
  /** Signs and pays for the deployments. */
  readonly deployer: Signer;
  /** The registry's default admin (a multisig or TimelockController in production); defaults to the deployer. */
  readonly admin?: string;
  /**
   * Seconds between starting and accepting a handover of the registry's default admin (AccessControlDefaultAdminRules);
   * defaults to `DEFAULT_ADMIN_DELAY` (2 days). Tests may pass 0.
   */
  readonly adminDelay?: number;
  /** Accounts given GOVERNANCE_ROLE right after deployment (only when the admin is the deployer). */
  readonly governance?: readonly string[];
}

/** The registry's default-admin handover delay unless `DeployOptions.adminDelay` says otherwise: 2 days. */
export const DEFAULT_ADMIN_DELAY = 2 * 24 * 60 * 60;

/** What one deployment produced, per contract. */
export interface DeployedContract {
  readonly name: ContractName;
  readonly address: string;
  readonly constructorArgs: readonly (string | number)[];
  readonly receipt: ContractTransactionReceipt;
}

export interface TwinLedgerDeployment {
  readonly registry: TwinRegistry;
  readonly consent: ConsentPolicy;
  readonly updateLog: TwinUpdateLog;
  readonly contracts: readonly DeployedContract[];
}

async function deployed<T extends { deploymentTransaction(): { wait(): Promise<unknown> } | null }>(
  contract: T,
): Promise<ContractTransactionReceipt> {
  const tx = contract.deploymentTransaction();
  if (!tx) throw new Error("contract has no deployment transaction");
  const receipt = (await tx.wait()) as ContractTransactionReceipt | null;
  if (!receipt) throw new Error("deployment transaction was dropped");
  return receipt;
}

/**
 * Deploys and wires TwinRegistry, ConsentPolicy and TwinUpdateLog. The one way the project deploys:
 * scripts/deploy.ts, the demo, the evaluation and the test fixtures all call it.
 */
export async function deployTwinLedger(options: DeployOptions): Promise<TwinLedgerDeployment> {
  const { deployer } = options;
  const deployerAddress = await deployer.getAddress();
  const admin = options.admin ?? deployerAddress;
  const adminDelay = options.adminDelay ?? DEFAULT_ADMIN_DELAY;
  if (!Number.isSafeInteger(adminDelay) || adminDelay < 0 || adminDelay >= 2 ** 48) {
    throw new RangeError(`adminDelay must be a whole number of seconds below 2^48, got ${adminDelay}`);
  }

  const registry = await new TwinRegistry__factory(deployer).deploy(adminDelay, admin);
  const registryReceipt = await deployed(registry);
  const registryAddress = await registry.getAddress();

  const consent = await new ConsentPolicy__factory(deployer).deploy(registryAddress);
  const consentReceipt = await deployed(consent);
  const updateLog = await new TwinUpdateLog__factory(deployer).deploy(registryAddress);
  const updateLogReceipt = await deployed(updateLog);

  if (admin === deployerAddress) {
    const role = await registry.GOVERNANCE_ROLE();
    for (const account of options.governance ?? []) {
      await (await registry.grantRole(role, account)).wait();
    }
  }

  return {
    registry,
    consent,
    updateLog,
    contracts: [
      {
        name: "TwinRegistry",
        address: registryAddress,
        constructorArgs: [adminDelay, admin],
        receipt: registryReceipt,
      },
      {
        name: "ConsentPolicy",
        address: await consent.getAddress(),
        constructorArgs: [registryAddress],
        receipt: consentReceipt,
      },
      {
        name: "TwinUpdateLog",
        address: await updateLog.getAddress(),
        constructorArgs: [registryAddress],
        receipt: updateLogReceipt,
      },
    ],
  };
}
