import { ethers } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { Signer } from "ethers";
import { DeviceRegistry__factory, StudyRegistry__factory } from "../typechain-types";
import type { TwinRegistry } from "../typechain-types";
import { commit } from "../src/chain/commitments";
import { deployTwinLedger } from "../src/chain/deploy";
import { twinIdOf } from "../src/chain/twin-id";
import { DataCategory, SourceKind } from "../src/vocabulary";

/**
 * Typed fixtures shared by the contract tests, built by the real deploy code (src/chain/deploy.ts).
 * Use them through `loadFixture(deployFixture)` / `loadFixture(twinFixture)`.
 */

/** The salt the patient creates the fixture's twin with. */
export const TWIN_SALT = ethers.id("twin:salt:alice");
/**
 * The hardhat network's default account 6 (`actors().patient`), from its default mnemonic. `twinFixture` checks it,
 * so that `TWIN_ID` can be a constant.
 */
export const PATIENT_ADDRESS = "0x976EA74026E726554dB657fA54763abd0C3a0aa9";
/** The fixture twin's id: `twinIdOf(patient, TWIN_SALT)`, as TwinRegistry derives it. */
export const TWIN_ID = twinIdOf(PATIENT_ADDRESS, TWIN_SALT);
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

/**
 * The three contracts deployed and wired (the registry's admin delay 0, so that tests can hand the admin over in the
 * next block); governance appointed; two hospitals and one responder accredited.
 */
export async function deployFixture() {
  const a = await actors();
  const deployment = await deployTwinLedger({
    deployer: a.admin,
    adminDelay: 0,
    governance: [a.governance.address],
  });
  const { registry } = deployment;
  await registry.connect(a.governance).grantRole(await registry.CUSTODIAN_ROLE(), a.hospital.address);
  await registry.connect(a.governance).grantRole(await registry.CUSTODIAN_ROLE(), a.hospital2.address);
  await registry.connect(a.governance).grantRole(await registry.EMERGENCY_RESPONDER_ROLE(), a.responder.address);
  return { ...deployment, ...a };
}

/**
 * Creates a twin owned by `owner` at `custodian`, with the salt `ethers.id(saltLabel)` and the fixture's METADATA,
 * and returns its id (`twinIdOf(owner, salt)`).
 */
export async function createTwinOf(
  registry: TwinRegistry,
  owner: Signer,
  saltLabel: string,
  custodian: string | { getAddress(): Promise<string> },
): Promise<string> {
  const custodianAddress = typeof custodian === "string" ? custodian : await custodian.getAddress();
  const salt = ethers.id(saltLabel);
  await (await registry.connect(owner).createTwin(salt, METADATA, custodianAddress)).wait();
  return twinIdOf(await owner.getAddress(), salt);
}

/**
 * `deployFixture` plus a twin owned by the patient at `hospital` (salt TWIN_SALT, id `twinId` = TWIN_ID), with the
 * EMR and the wearable authorized.
 */
export async function twinFixture() {
  const f = await deployFixture();
  const { registry, patient, hospital, emr, wearable } = f;
  const twinId = twinIdOf(patient.address, TWIN_SALT);
  if (twinId !== TWIN_ID) {
    throw new Error(`the patient is not hardhat's default account 6 (${PATIENT_ADDRESS}): TWIN_ID does not apply`);
  }
  await registry.connect(patient).createTwin(TWIN_SALT, METADATA, hospital.address);
  await registry.connect(patient).authorizeSource(twinId, emr.address, SourceKind.Emr, EMR_CATEGORIES);
  await registry.connect(patient).authorizeSource(twinId, wearable.address, SourceKind.Device, WEARABLE_CATEGORIES);
  return { ...f, twinId };
}

/**
 * `twinFixture` plus a StudyRegistry on its registry (admin: the deployer), with governance as the ethics board and
 * the hospital as the operator that records each answer's ε.
 */
export async function studyFixture() {
  const f = await twinFixture();
  const studies = await new StudyRegistry__factory(f.admin).deploy(await f.registry.getAddress(), f.admin.address);
  await studies.connect(f.admin).grantRole(await studies.ETHICS_BOARD_ROLE(), f.governance.address);
  await studies.connect(f.admin).grantRole(await studies.OPERATOR_ROLE(), f.hospital.address);
  return { ...f, studies };
}

/** The salted commitments of the fixture device's model, firmware and calibration date. */
export const DEVICE_MODEL = commit("Acme Pulse 3").commitment;
export const DEVICE_FIRMWARE = commit("fw 2.1.0").commitment;
export const DEVICE_CALIBRATION = commit("2026-01-15").commitment;

/**
 * `twinFixture` plus a DeviceRegistry on its registry (admin: the deployer), two accredited manufacturers (`maker`,
 * `otherMaker`: hardhat accounts 12 and 13) and the fixture's wearable, a Device source of the twin, registered by
 * `maker` with DEVICE_MODEL, DEVICE_FIRMWARE and DEVICE_CALIBRATION.
 */
export async function deviceFixture() {
  const f = await twinFixture();
  const devices = await new DeviceRegistry__factory(f.admin).deploy(await f.registry.getAddress(), f.admin.address);
  const [, , , , , , , , , , , , maker, otherMaker] = await ethers.getSigners();
  await devices.connect(f.admin).grantRole(await devices.MANUFACTURER_ROLE(), maker.address);
  await devices.connect(f.admin).grantRole(await devices.MANUFACTURER_ROLE(), otherMaker.address);
  await devices.connect(maker).registerDevice(f.wearable.address, DEVICE_MODEL, DEVICE_FIRMWARE, DEVICE_CALIBRATION);
  return { ...f, devices, maker, otherMaker };
}
