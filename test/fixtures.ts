import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { deployTwinLedger } from "../src/chain/deploy";
import { DataCategory, SourceKind } from "../src/vocabulary";

/**
 * Typed fixtures shared by the contract tests, built by the real deploy code (src/chain/deploy.ts).
 * Use them through `loadFixture(deployFixture)` / `loadFixture(twinFixture)`.
 */

export const TWIN_ID = ethers.id("twin:pseudonym:alice");
export const METADATA = ethers.id("metadata-commitment:v1");
export const EMR_CATEGORIES =
  DataCategory.DEMOGRAPHICS |
  DataCategory.CONDITIONS |
  DataCategory.MEDICATIONS |
  DataCategory.ALLERGIES |
  DataCategory.PROCEDURES |
  DataCategory.ENCOUNTERS |
  DataCategory.LABS |
  DataCategory.VITALS;
export const WEARABLE_CATEGORIES = DataCategory.WEARABLE_STREAMS;

export interface Actors {
  admin: HardhatEthersSigner;
  governance: HardhatEthersSigner;
  hospital: HardhatEthersSigner;
  hospital2: HardhatEthersSigner;
  emr: HardhatEthersSigner;
  wearable: HardhatEthersSigner;
  patient: HardhatEthersSigner;
  guardian: HardhatEthersSigner;
  clinician: HardhatEthersSigner;
  researcher: HardhatEthersSigner;
  responder: HardhatEthersSigner;
  stranger: HardhatEthersSigner;
}

export async function actors(): Promise<Actors> {
  const [
    admin,
    governance,
    hospital,
    hospital2,
    emr,
    wearable,
    patient,
    guardian,
    clinician,
    researcher,
    responder,
    stranger,
  ] = await ethers.getSigners();
  return {
    admin,
    governance,
    hospital,
    hospital2,
    emr,
    wearable,
    patient,
    guardian,
    clinician,
    researcher,
    responder,
    stranger,
  };
}

/** The three contracts deployed and wired; governance appointed; one hospital and one responder accredited. */
export async function deployFixture() {
  const a = await actors();
  const deployment = await deployTwinLedger({
    deployer: a.admin,
    governance: [a.governance.address],
  });
  const { registry } = deployment;
  await registry.connect(a.governance).grantRole(await registry.CUSTODIAN_ROLE(), a.hospital.address);
  await registry.connect(a.governance).grantRole(await registry.CUSTODIAN_ROLE(), a.hospital2.address);
  await registry.connect(a.governance).grantRole(await registry.EMERGENCY_RESPONDER_ROLE(), a.responder.address);
  return { ...deployment, ...a };
}

/** `deployFixture` plus a twin owned by the patient at `hospital`, with the EMR and the wearable authorized. */
export async function twinFixture() {
  const f = await deployFixture();
  const { registry, patient, hospital, emr, wearable } = f;
  await registry.connect(patient).createTwin(TWIN_ID, METADATA, hospital.address);
  await registry.connect(patient).authorizeSource(TWIN_ID, emr.address, SourceKind.Emr, EMR_CATEGORIES);
  await registry.connect(patient).authorizeSource(TWIN_ID, wearable.address, SourceKind.Device, WEARABLE_CATEGORIES);
  return { ...f, twinId: TWIN_ID };
}
