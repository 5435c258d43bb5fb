import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import hre from "hardhat";
import { CONTRACT_ABIS, writeDeploymentRecords } from "../../src/chain/deployments";
import { twinIdOf } from "../../src/chain/twin-id";
import { runTask, taskError, taskFixture, tempDir } from "./helpers";

describe("tasks: twin:create, twin:show, source:authorize", () => {
  it("twin:create from the deployment records, human-readable and --json", async () => {
    const f = await loadFixture(taskFixture);
    const dir = tempDir("deployments");
    const { chainId } = await hre.ethers.provider.getNetwork();
    writeDeploymentRecords(
      f.contracts,
      { network: hre.network.name, chainId: Number(chainId), abis: CONTRACT_ABIS },
      dir,
    );
    const human = await runTask("twin:create", {
      deployments: dir,
      from: "11",
      salt: "bob",
      custodian: f.hospital.address,
    });
    const id = twinIdOf(f.stranger.address, hre.ethers.id("bob"));
    expect(human.out)
      .to.contain(`Twin created: ${id}`)
      .and.match(new RegExp(`custodian\\s+${f.hospital.address}`));
    expect(await f.registry.ownerOf(id)).to.equal(f.stranger.address);

    const json = await runTask("twin:create", {
      ...f.flags,
      from: "11",
      salt: "carol",
      custodian: f.hospital.address,
      json: true,
    });
    const parsed = JSON.parse(json.out) as { twinId: string; gasUsed: string; owner: string };
    expect(parsed.twinId).to.equal(twinIdOf(f.stranger.address, hre.ethers.id("carol")));
    expect(parsed.owner).to.equal(f.stranger.address);
    expect(Number(parsed.gasUsed)).to.be.greaterThan(21_000);
  });

  it("twin:create refuses bad arguments and explains a revert", async () => {
    const f = await loadFixture(taskFixture);
    expect(await taskError("twin:create", { ...f.flags, salt: "x", custodian: "nope" })).to.contain(
      '--custodian must be an address (0x and 40 hex digits), got "nope"',
    );
    const message = await taskError("twin:create", {
      ...f.flags,
      from: "11",
      salt: "x",
      custodian: f.stranger.address,
    });
    expect(message).to.contain("createTwin was refused: TwinRegistry.NotCustodian(account=" + f.stranger.address);
    expect(message).to.contain("grantRole(CUSTODIAN_ROLE, account)");
    expect(
      await taskError("twin:create", { registry: f.flags.registry, salt: "x", custodian: f.hospital.address }),
    ).to.contain("give all three of --registry, --consent and --log");
    expect(await taskError("twin:show", { deployments: tempDir("none"), twin: f.twinId }))
      .to.contain("no deployment record")
      .and.contain("deploy first");
  });

  it("twin:show prints the twin, and names an unknown one", async () => {
    const f = await loadFixture(taskFixture);
    const { out } = await runTask("twin:show", { ...f.flags, twin: f.twinId });
    expect(out)
      .to.contain(`Twin ${f.twinId}`)
      .and.match(/status\s+Active/)
      .and.contain(f.patient.address)
      .and.contain("emergency      not allowed");
    const json = (
      await runTask<{ status: string; custodian: string }>("twin:show", { ...f.flags, twin: f.twinId, json: true })
    ).result;
    expect(json).to.include({ status: "Active", custodian: f.hospital.address });
    expect(await taskError("twin:show", { ...f.flags, twin: hre.ethers.id("nobody") })).to.contain("no twin 0x");
    expect(await taskError("twin:show", { ...f.flags, twin: "0x1234" })).to.contain(
      "--twin must be 0x and 64 hex digits",
    );
  });

  it("source:authorize by the patient; a wrong kind or category name is refused", async () => {
    const f = await loadFixture(taskFixture);
    const from = "6"; // the patient
    const { out } = await runTask("source:authorize", {
      ...f.flags,
      from,
      twin: f.twinId,
      source: f.clinician.address,
      kind: "app",
      categories: "VITALS,labs",
    });
    expect(out).to.contain(`Source ${f.clinician.address} (App) may write LABS, VITALS`);
    expect(await f.registry.writableCategories(f.twinId, f.clinician.address)).to.be.greaterThan(0n);
    expect(
      await taskError("source:authorize", {
        ...f.flags,
        from,
        twin: f.twinId,
        source: f.clinician.address,
        kind: "robot",
        categories: "VITALS",
      }),
    ).to.contain("--kind must be one of Emr, Device, App, Lab");
    expect(
      await taskError("source:authorize", {
        ...f.flags,
        from,
        twin: f.twinId,
        source: f.clinician.address,
        kind: "Emr",
        categories: "VITAL",
      }),
    ).to.contain('--categories: unknown name "VITAL"');
    const refused = await taskError("source:authorize", {
      ...f.flags,
      from: "11",
      twin: f.twinId,
      source: f.clinician.address,
      kind: "Emr",
      categories: "VITALS",
    });
    expect(refused).to.contain("TwinRegistry.NotTwinController");
  });
});
