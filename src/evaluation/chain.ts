import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { Provider } from "ethers";
import { deployTwinLedger, type TwinLedgerDeployment } from "../chain/deploy";
import { OnChainRecordStore__factory, type OnChainRecordStore } from "../../typechain-types";

/** The in-process Hardhat network, as the script hands it over (`hre.ethers` signers and the raw provider). */
export interface InProcessChain {
  readonly signers: readonly HardhatEthersSigner[];
  readonly provider: Provider;
  /** A raw JSON-RPC request to the network (`hre.network.provider.send`). */
  send(method: string, params: unknown[]): Promise<unknown>;
}

/** Who does what in the evaluation's workloads: fixed signer indexes of the default Hardhat accounts. */
export interface Actors {
  readonly admin: HardhatEthersSigner;
  readonly hospital: HardhatEthersSigner;
  readonly hospital2: HardhatEthersSigner;
  readonly emr: HardhatEthersSigner;
  readonly wearable: HardhatEthersSigner;
  readonly responder: HardhatEthersSigner;
  readonly relayer: HardhatEthersSigner;
  readonly clinician: HardhatEthersSigner;
  readonly researcher: HardhatEthersSigner;
  readonly patients: readonly HardhatEthersSigner[];
}

export interface Ledger extends TwinLedgerDeployment {
  readonly actors: Actors;
  readonly baseline: OnChainRecordStore;
  readonly baselineDeployGas: number;
  readonly baselineRuntimeBytes: number;
}

export function actorsOf(signers: readonly HardhatEthersSigner[]): Actors {
  if (signers.length < 12) throw new Error(`the evaluation needs at least 12 accounts, got ${signers.length}`);
  const [admin, hospital, hospital2, emr, wearable, responder, relayer, clinician, researcher, ...patients] = signers;
  return { admin, hospital, hospital2, emr, wearable, responder, relayer, clinician, researcher, patients };
}

/** Deploys TwinLedger with the real deploy code, accredits the hospitals and the responder, deploys the baseline. */
export async function setUpLedger(chain: InProcessChain): Promise<Ledger> {
  const actors = actorsOf(chain.signers);
  const deployment = await deployTwinLedger({ deployer: actors.admin, governance: [actors.admin.address] });
  const { registry } = deployment;
  const custodian = await registry.CUSTODIAN_ROLE();
  await (await registry.grantRole(custodian, actors.hospital.address)).wait();
  await (await registry.grantRole(custodian, actors.hospital2.address)).wait();
  await (await registry.grantRole(await registry.EMERGENCY_RESPONDER_ROLE(), actors.responder.address)).wait();
  const baseline = await new OnChainRecordStore__factory(actors.admin).deploy();
  const receipt = await baseline.deploymentTransaction()?.wait();
  if (!receipt) throw new Error("baseline deployment was dropped");
  const code = await chain.provider.getCode(await baseline.getAddress());
  return {
    ...deployment,
    actors,
    baseline,
    baselineDeployGas: Number(receipt.gasUsed),
    baselineRuntimeBytes: (code.length - 2) / 2,
  };
}

/** The latest block's timestamp. */
export async function now(provider: Provider): Promise<number> {
  const block = await provider.getBlock("latest");
  if (!block) throw new Error("no latest block");
  return block.timestamp;
}
