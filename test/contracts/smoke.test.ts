import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import { twinFixture } from "../fixtures";

describe("fixtures", () => {
  it("deploys, wires and creates a twin", async () => {
    const { registry, consent, updateLog, patient, twinId } = await loadFixture(twinFixture);
    expect(await registry.ownerOf(twinId)).to.equal(patient.address);
    expect(await consent.registry()).to.equal(await registry.getAddress());
    expect(await updateLog.registry()).to.equal(await registry.getAddress());
  });
});
