import type { Signer } from "ethers";
import {
  DeviceRegistry__factory,
  StudyRegistry__factory,
  type DeviceRegistry,
  type StudyRegistry,
} from "../../typechain-types";

/**
 * Deploys the research contracts beside a core deployment (src/chain/deploy.ts): StudyRegistry on the given
 * TwinRegistry, and DeviceRegistry on the same registry. The roles are granted only when the admin is the deployer (else the admin grants them).
 */
export interface ResearchDeployOptions {
  readonly deployer: Signer;
  /** The TwinRegistry address. */
  readonly registry: string;
  /** `DEFAULT_ADMIN_ROLE` of the new contracts; defaults to the deployer. */
  readonly admin?: string;
  /** Accounts given ETHICS_BOARD_ROLE. */
  readonly ethicsBoard?: readonly string[];
  /** Accounts given OPERATOR_ROLE (the gateway's operator keys). */
  readonly operators?: readonly string[];
  /** Accounts given DeviceRegistry's MANUFACTURER_ROLE. */
  readonly manufacturers?: readonly string[];
}

export interface ResearchDeployment {
  readonly studies: StudyRegistry;
  readonly studiesAddress: string;
  readonly devices: DeviceRegistry;
  readonly devicesAddress: string;
}

export async function deployResearch(options: ResearchDeployOptions): Promise<ResearchDeployment> {
  const deployerAddress = await options.deployer.getAddress();
  const admin = options.admin ?? deployerAddress;
  const studies = await new StudyRegistry__factory(options.deployer).deploy(options.registry, admin);
  await studies.waitForDeployment();
  const devices = await new DeviceRegistry__factory(options.deployer).deploy(options.registry, admin);
  await devices.waitForDeployment();
  if (admin === deployerAddress) {
    for (const account of options.ethicsBoard ?? []) {
      await (await studies.grantRole(await studies.ETHICS_BOARD_ROLE(), account)).wait();
    }
    for (const account of options.operators ?? []) {
      await (await studies.grantRole(await studies.OPERATOR_ROLE(), account)).wait();
    }
    for (const account of options.manufacturers ?? []) {
      await (await devices.grantRole(await devices.MANUFACTURER_ROLE(), account)).wait();
    }
  }
  return {
    studies,
    studiesAddress: await studies.getAddress(),
    devices,
    devicesAddress: await devices.getAddress(),
  };
}
