import { getAddress, id, type Signer, type TransactionReceipt } from "ethers";
import {
  ConsentPolicy__factory,
  TwinRegistry__factory,
  TwinUpdateLog__factory,
  type ConsentPolicy,
  type TwinRegistry,
  type TwinUpdateLog,
} from "../../typechain-types";
import { create2Address, deployThroughProxy, ensureDeterministicDeployer, hasCode } from "./deterministic";

/** The names of the deployed contracts; deployment records are `deployments/<network>/<name>.json`. */
export const CONTRACT_NAMES = ["TwinRegistry", "ConsentPolicy", "TwinUpdateLog"] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];

/**
 * How the contracts are deployed. `"create"`: plain deployments from the deployer's nonce, new addresses every time
 * (the tests, the demo, the evaluation). `"create2"`: through the deterministic deployment proxy, so the addresses
 * follow from the salt, the code and the constructor arguments alone, the same on every chain; idempotent.
 */
export type DeployStrategy = "create" | "create2";

/**
 * The default CREATE2 salt: it names the version of the contracts' ABI, so a new version gets new addresses even if
 * some bytecode did not change.
 */
export const DEPLOYMENT_SALT = id("TwinLedger v2");

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
  /** `"create"` (default) or `"create2"` (deterministic addresses; see `DeployStrategy`). */
  readonly strategy?: DeployStrategy;
  /** The CREATE2 salt (32 bytes); defaults to `DEPLOYMENT_SALT`. Only with `strategy: "create2"`. */
  readonly salt?: string;
}

/** The registry's default-admin handover delay unless `DeployOptions.adminDelay` says otherwise: 2 days. */
export const DEFAULT_ADMIN_DELAY = 2 * 24 * 60 * 60;

/** What one deployment produced, per contract. */
export interface DeployedContract {
  readonly name: ContractName;
  readonly address: string;
  readonly constructorArgs: readonly (string | number)[];
  readonly receipt: TransactionReceipt;
}

/** A contract a CREATE2 deployment found already at its address, and left there. */
export interface ExistingContract {
  readonly name: ContractName;
  readonly address: string;
  readonly constructorArgs: readonly (string | number)[];
}

export interface TwinLedgerDeployment {
  readonly registry: TwinRegistry;
  readonly consent: ConsentPolicy;
  readonly updateLog: TwinUpdateLog;
  /** The contracts this call deployed, in deployment order (all three with `"create"`). */
  readonly contracts: readonly DeployedContract[];
  /** With `"create2"`: the contracts already at their addresses, not deployed again. */
  readonly existing: readonly ExistingContract[];
}

/** The constructor arguments and init code (creation code ‖ encoded arguments) of one contract. */
export interface InitCode {
  readonly name: ContractName;
  readonly constructorArgs: readonly (string | number)[];
  readonly data: string;
}

async function initCodeOf(name: ContractName, args: readonly (string | number)[]): Promise<InitCode> {
  const tx =
    name === "TwinRegistry"
      ? await new TwinRegistry__factory().getDeployTransaction(args[0], String(args[1]))
      : name === "ConsentPolicy"
        ? await new ConsentPolicy__factory().getDeployTransaction(String(args[0]))
        : await new TwinUpdateLog__factory().getDeployTransaction(String(args[0]));
  return { name, constructorArgs: args, data: tx.data };
}

function checkedDelay(adminDelay: number): number {
  if (!Number.isSafeInteger(adminDelay) || adminDelay < 0 || adminDelay >= 2 ** 48) {
    throw new RangeError(`adminDelay must be a whole number of seconds below 2^48, got ${adminDelay}`);
  }
  return adminDelay;
}

/** What fixes the CREATE2 addresses: the salt, and the registry's constructor arguments (the others name the registry). */
export interface AddressInputs {
  readonly admin: string;
  readonly adminDelay?: number;
  readonly salt?: string;
}

/** The init code of the three contracts for a CREATE2 deployment, the registry's address inside the other two. */
export async function twinLedgerInitCodes(inputs: AddressInputs): Promise<Record<ContractName, InitCode>> {
  const salt = inputs.salt ?? DEPLOYMENT_SALT;
  const registry = await initCodeOf("TwinRegistry", [
    checkedDelay(inputs.adminDelay ?? DEFAULT_ADMIN_DELAY),
    getAddress(inputs.admin),
  ]);
  const registryAddress = create2Address(salt, registry.data);
  return {
    TwinRegistry: registry,
    ConsentPolicy: await initCodeOf("ConsentPolicy", [registryAddress]),
    TwinUpdateLog: await initCodeOf("TwinUpdateLog", [registryAddress]),
  };
}

/**
 * The addresses a CREATE2 deployment gives, on any chain, without a provider: they depend on the salt, the contracts'
 * code, the admin and the admin delay (the registry's constructor arguments), and on nothing else.
 */
export async function predictTwinLedgerAddresses(inputs: AddressInputs): Promise<Record<ContractName, string>> {
  const codes = await twinLedgerInitCodes(inputs);
  const salt = inputs.salt ?? DEPLOYMENT_SALT;
  return {
    TwinRegistry: create2Address(salt, codes.TwinRegistry.data),
    ConsentPolicy: create2Address(salt, codes.ConsentPolicy.data),
    TwinUpdateLog: create2Address(salt, codes.TwinUpdateLog.data),
  };
}

async function deployed<T extends { deploymentTransaction(): { wait(): Promise<unknown> } | null }>(
  contract: T,
): Promise<TransactionReceipt> {
  const tx = contract.deploymentTransaction();
  if (!tx) throw new Error("contract has no deployment transaction");
  const receipt = (await tx.wait()) as TransactionReceipt | null;
  if (!receipt) throw new Error("deployment transaction was dropped");
  return receipt;
}

async function deployWithCreate(deployer: Signer, admin: string, adminDelay: number): Promise<DeployedContract[]> {
  const registry = await new TwinRegistry__factory(deployer).deploy(adminDelay, admin);
  const registryReceipt = await deployed(registry);
  const registryAddress = await registry.getAddress();
  const consent = await new ConsentPolicy__factory(deployer).deploy(registryAddress);
  const consentReceipt = await deployed(consent);
  const updateLog = await new TwinUpdateLog__factory(deployer).deploy(registryAddress);
  const updateLogReceipt = await deployed(updateLog);
  return [
    { name: "TwinRegistry", address: registryAddress, constructorArgs: [adminDelay, admin], receipt: registryReceipt },
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
  ];
}

async function deployWithCreate2(
  deployer: Signer,
  inputs: Required<AddressInputs>,
): Promise<{ contracts: DeployedContract[]; existing: ExistingContract[] }> {
  await ensureDeterministicDeployer(deployer);
  const codes = await twinLedgerInitCodes(inputs);
  const contracts: DeployedContract[] = [];
  const existing: ExistingContract[] = [];
  for (const name of CONTRACT_NAMES) {
    const { constructorArgs, data } = codes[name];
    const address = create2Address(inputs.salt, data);
    if (await hasCode(deployer.provider!, address)) {
      existing.push({ name, address, constructorArgs });
    } else {
      const { receipt } = await deployThroughProxy(deployer, inputs.salt, data);
      contracts.push({ name, address, constructorArgs, receipt });
    }
  }
  return { contracts, existing };
}

/**
 * Deploys and wires TwinRegistry, ConsentPolicy and TwinUpdateLog. The one way the project deploys:
 * scripts/deploy.ts, the demo, the evaluation and the test fixtures all call it.
 *
 * With `strategy: "create2"` the addresses are those of `predictTwinLedgerAddresses` on every chain; contracts already
 * there are left as they are (listed in `existing`), and governance is granted only to accounts that lack it.
 */
export async function deployTwinLedger(options: DeployOptions): Promise<TwinLedgerDeployment> {
  const { deployer } = options;
  const deployerAddress = await deployer.getAddress();
  const admin = getAddress(options.admin ?? deployerAddress);
  const adminDelay = checkedDelay(options.adminDelay ?? DEFAULT_ADMIN_DELAY);

  const { contracts, existing } =
    options.strategy === "create2"
      ? await deployWithCreate2(deployer, { admin, adminDelay, salt: options.salt ?? DEPLOYMENT_SALT })
      : { contracts: await deployWithCreate(deployer, admin, adminDelay), existing: [] };
  const addressOf = (name: ContractName): string => [...contracts, ...existing].find((c) => c.name === name)!.address;

  const registry = TwinRegistry__factory.connect(addressOf("TwinRegistry"), deployer);
  if (admin === getAddress(deployerAddress)) {
    const role = await registry.GOVERNANCE_ROLE();
    for (const account of options.governance ?? []) {
      // A CREATE2 re-run finds the roles it granted before; a fresh deployment has none to look up.
      if (existing.some((c) => c.name === "TwinRegistry") && (await registry.hasRole(role, account))) continue;
      await (await registry.grantRole(role, account)).wait();
    }
  }

  return {
    registry,
    consent: ConsentPolicy__factory.connect(addressOf("ConsentPolicy"), deployer),
    updateLog: TwinUpdateLog__factory.connect(addressOf("TwinUpdateLog"), deployer),
    contracts,
    existing,
  };
}
