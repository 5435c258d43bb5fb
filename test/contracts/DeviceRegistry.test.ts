import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import { ethers } from "hardhat";
import { commit } from "../../src/chain/commitments";
import { DeviceRegistry__factory } from "../../typechain-types";
import { SourceKind } from "../../src/vocabulary";
import {
  DEVICE_CALIBRATION as CALIBRATION,
  DEVICE_FIRMWARE as FIRMWARE,
  DEVICE_MODEL as MODEL,
  WEARABLE_CATEGORIES,
  deviceFixture,
} from "../fixtures";

/*
 * DeviceRegistry: registration with salted commitments, updates, flags by the manufacturer or by the custodian of a
 * twin the device feeds, clearing (by the flagger or governance only); every revert with its arguments.
 */

enum Flag {
  None,
  Recall,
  CalibrationExpired,
  Malfunction,
  Other,
}

describe("DeviceRegistry", function () {
  it("refuses a zero registry or admin", async function () {
    const [admin] = await ethers.getSigners();
    const factory = new DeviceRegistry__factory(admin);
    await expect(factory.deploy(ethers.ZeroAddress, admin.address)).to.be.revertedWithCustomError(
      factory,
      "ZeroAddress",
    );
    await expect(factory.deploy(admin.address, ethers.ZeroAddress)).to.be.revertedWithCustomError(
      factory,
      "ZeroAddress",
    );
  });

  it("registers a device with its commitments, by a manufacturer only, once", async function () {
    const { devices, maker, wearable, stranger, emr } = await loadFixture(deviceFixture);
    const d = await devices.deviceOf(wearable.address);
    expect(d.manufacturer).to.equal(maker.address);
    expect([d.modelCommitment, d.firmwareCommitment, d.calibrationCommitment]).to.deep.equal([
      MODEL,
      FIRMWARE,
      CALIBRATION,
    ]);
    expect(await devices.flagOf(wearable.address)).to.deep.equal([BigInt(Flag.None), 0n]);
    await expect(devices.connect(stranger).registerDevice(emr.address, MODEL, FIRMWARE, CALIBRATION))
      .to.be.revertedWithCustomError(devices, "AccessControlUnauthorizedAccount")
      .withArgs(stranger.address, await devices.MANUFACTURER_ROLE());
    await expect(devices.connect(maker).registerDevice(wearable.address, MODEL, FIRMWARE, CALIBRATION))
      .to.be.revertedWithCustomError(devices, "DeviceAlreadyRegistered")
      .withArgs(wearable.address);
    await expect(
      devices.connect(maker).registerDevice(ethers.ZeroAddress, MODEL, FIRMWARE, CALIBRATION),
    ).to.be.revertedWithCustomError(devices, "ZeroAddress");
    for (const [m, fw, cal] of [
      [ethers.ZeroHash, FIRMWARE, CALIBRATION],
      [MODEL, ethers.ZeroHash, CALIBRATION],
      [MODEL, FIRMWARE, ethers.ZeroHash],
    ]) {
      await expect(devices.connect(maker).registerDevice(emr.address, m, fw, cal)).to.be.revertedWithCustomError(
        devices,
        "EmptyCommitment",
      );
    }
    await expect(devices.connect(maker).registerDevice(emr.address, MODEL, FIRMWARE, CALIBRATION))
      .to.emit(devices, "DeviceRegistered")
      .withArgs(emr.address, maker.address, MODEL);
  });

  it("lets its manufacturer update firmware and calibration, nobody else", async function () {
    const { devices, maker, otherMaker, wearable, emr } = await loadFixture(deviceFixture);
    const fw = commit("fw 2.2.0").commitment;
    await expect(devices.connect(maker).updateDevice(wearable.address, fw, CALIBRATION))
      .to.emit(devices, "DeviceUpdated")
      .withArgs(wearable.address, fw, CALIBRATION);
    expect((await devices.deviceOf(wearable.address)).firmwareCommitment).to.equal(fw);
    await expect(devices.connect(otherMaker).updateDevice(wearable.address, fw, CALIBRATION))
      .to.be.revertedWithCustomError(devices, "NotManufacturer")
      .withArgs(wearable.address, otherMaker.address);
    await expect(devices.connect(maker).updateDevice(emr.address, fw, CALIBRATION))
      .to.be.revertedWithCustomError(devices, "UnknownDevice")
      .withArgs(emr.address);
    await expect(
      devices.connect(maker).updateDevice(wearable.address, fw, ethers.ZeroHash),
    ).to.be.revertedWithCustomError(devices, "EmptyCommitment");
  });

  it("is flagged by its manufacturer with a reason, and cleared", async function () {
    const { devices, maker, otherMaker, wearable } = await loadFixture(deviceFixture);
    await expect(devices.connect(maker).flagDevice(wearable.address, Flag.None))
      .to.be.revertedWithCustomError(devices, "InvalidFlagReason")
      .withArgs(Flag.None);
    await expect(devices.connect(otherMaker).flagDevice(wearable.address, Flag.Recall))
      .to.be.revertedWithCustomError(devices, "NotManufacturer")
      .withArgs(wearable.address, otherMaker.address);
    await expect(devices.connect(maker).clearFlag(wearable.address))
      .to.be.revertedWithCustomError(devices, "NotFlagged")
      .withArgs(wearable.address);
    await expect(devices.connect(maker).flagDevice(wearable.address, Flag.Recall))
      .to.emit(devices, "DeviceFlagged")
      .withArgs(wearable.address, Flag.Recall, maker.address);
    expect(await devices.flagOf(wearable.address)).to.deep.equal([BigInt(Flag.Recall), BigInt(await time.latest())]);
    expect((await devices.deviceOf(wearable.address)).flaggedBy).to.equal(maker.address);
    await expect(devices.connect(maker).clearFlag(wearable.address))
      .to.emit(devices, "DeviceFlagCleared")
      .withArgs(wearable.address, maker.address);
    expect(await devices.flagOf(wearable.address)).to.deep.equal([0n, 0n]);
  });

  it("is flagged by the custodian of a twin it is a device source of, and by no one else", async function () {
    const { devices, hospital, hospital2, wearable, emr, twinId } = await loadFixture(deviceFixture);
    await expect(devices.connect(hospital2).flagDeviceAsCustodian(twinId, wearable.address, Flag.CalibrationExpired))
      .to.be.revertedWithCustomError(devices, "NotTwinCustodian")
      .withArgs(twinId, wearable.address, hospital2.address);
    await expect(devices.connect(hospital).flagDeviceAsCustodian(twinId, emr.address, Flag.Malfunction))
      .to.be.revertedWithCustomError(devices, "NotTwinCustodian")
      .withArgs(twinId, emr.address, hospital.address);
    await expect(devices.connect(hospital).flagDeviceAsCustodian(twinId, wearable.address, Flag.CalibrationExpired))
      .to.emit(devices, "DeviceFlagged")
      .withArgs(wearable.address, Flag.CalibrationExpired, hospital.address);
    expect((await devices.flagOf(wearable.address))[0]).to.equal(Flag.CalibrationExpired);
  });

  it("refuses a de-accredited manufacturer: no update, flag or clear of its devices", async function () {
    // Regression: the manufacturer kept power over its devices after governance withdrew MANUFACTURER_ROLE.
    const { devices, admin, maker, wearable } = await loadFixture(deviceFixture);
    const role = await devices.MANUFACTURER_ROLE();
    await devices.connect(maker).flagDevice(wearable.address, Flag.Malfunction);
    await devices.connect(admin).revokeRole(role, maker.address);
    const fw = commit("fw 2.2.0").commitment;
    await expect(devices.connect(maker).updateDevice(wearable.address, fw, CALIBRATION))
      .to.be.revertedWithCustomError(devices, "AccessControlUnauthorizedAccount")
      .withArgs(maker.address, role);
    await expect(devices.connect(maker).flagDevice(wearable.address, Flag.Recall))
      .to.be.revertedWithCustomError(devices, "AccessControlUnauthorizedAccount")
      .withArgs(maker.address, role);
    await expect(devices.connect(maker).clearFlag(wearable.address))
      .to.be.revertedWithCustomError(devices, "AccessControlUnauthorizedAccount")
      .withArgs(maker.address, role);
    expect((await devices.flagOf(wearable.address))[0]).to.equal(Flag.Malfunction);
    // governance clears the flag of a manufacturer it withdrew
    await expect(devices.connect(admin).clearFlag(wearable.address))
      .to.emit(devices, "DeviceFlagCleared")
      .withArgs(wearable.address, admin.address);
    expect(await devices.flagOf(wearable.address)).to.deep.equal([0n, 0n]);
  });

  it("lets only the custodian who flagged a device, or governance, clear or replace that flag", async function () {
    // Regression: the manufacturer cleared a custodian's recall.
    const { devices, admin, maker, otherMaker, hospital, stranger, wearable, twinId } =
      await loadFixture(deviceFixture);
    await devices.connect(hospital).flagDeviceAsCustodian(twinId, wearable.address, Flag.Recall);
    for (const account of [maker, otherMaker, stranger]) {
      await expect(devices.connect(account).clearFlag(wearable.address))
        .to.be.revertedWithCustomError(devices, "NotFlagger")
        .withArgs(wearable.address, hospital.address, account.address);
    }
    // nor can the manufacturer take the flag over by flagging again (and then clear its own)
    await expect(devices.connect(maker).flagDevice(wearable.address, Flag.Other))
      .to.be.revertedWithCustomError(devices, "AlreadyFlagged")
      .withArgs(wearable.address, hospital.address);
    // the flagger may change its reason, and clear it
    await expect(devices.connect(hospital).flagDeviceAsCustodian(twinId, wearable.address, Flag.Malfunction))
      .to.emit(devices, "DeviceFlagged")
      .withArgs(wearable.address, Flag.Malfunction, hospital.address);
    await expect(devices.connect(hospital).clearFlag(wearable.address))
      .to.emit(devices, "DeviceFlagCleared")
      .withArgs(wearable.address, hospital.address);
    // a manufacturer's flag: a custodian cannot replace or clear it, governance can clear it
    await devices.connect(maker).flagDevice(wearable.address, Flag.CalibrationExpired);
    await expect(devices.connect(hospital).flagDeviceAsCustodian(twinId, wearable.address, Flag.Recall))
      .to.be.revertedWithCustomError(devices, "AlreadyFlagged")
      .withArgs(wearable.address, maker.address);
    await expect(devices.connect(hospital).clearFlag(wearable.address))
      .to.be.revertedWithCustomError(devices, "NotFlagger")
      .withArgs(wearable.address, maker.address, hospital.address);
    await expect(devices.connect(admin).clearFlag(wearable.address))
      .to.emit(devices, "DeviceFlagCleared")
      .withArgs(wearable.address, admin.address);
  });

  it("keeps a custodian's flag on a device not yet registered when a manufacturer registers it", async function () {
    // Regression: any manufacturer could register a custodian-flagged address and then clear the flag.
    const { devices, registry, patient, hospital, otherMaker, twinId } = await loadFixture(deviceFixture);
    const sensor = ethers.Wallet.createRandom().address;
    await registry.connect(patient).authorizeSource(twinId, sensor, SourceKind.Device, WEARABLE_CATEGORIES);
    await expect(devices.connect(otherMaker).clearFlag(sensor))
      .to.be.revertedWithCustomError(devices, "NotFlagged")
      .withArgs(sensor);
    await devices.connect(hospital).flagDeviceAsCustodian(twinId, sensor, Flag.Recall);
    await devices.connect(otherMaker).registerDevice(sensor, MODEL, FIRMWARE, CALIBRATION);
    await expect(devices.connect(otherMaker).clearFlag(sensor))
      .to.be.revertedWithCustomError(devices, "NotFlagger")
      .withArgs(sensor, hospital.address, otherMaker.address);
    expect((await devices.flagOf(sensor))[0]).to.equal(Flag.Recall);
    await expect(devices.connect(hospital).clearFlag(sensor))
      .to.emit(devices, "DeviceFlagCleared")
      .withArgs(sensor, hospital.address);
  });
});
