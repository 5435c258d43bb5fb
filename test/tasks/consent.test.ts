import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import hre from "hardhat";
import { DataCategory, Purpose } from "../../src/vocabulary";
import { indexOf, runTask, taskError, taskFixture } from "./helpers";

describe("tasks: consent:grant, consent:check, consent:revoke, consent:requests, emergency:open/close", () => {
  it("grants, checks, updates, revokes, and checks again", async () => {
    const f = await loadFixture(taskFixture);
    const patient = await indexOf(f.patient.address);
    const base = { ...f.flags, twin: f.twinId, grantee: f.clinician.address };
    const granted = await runTask("consent:grant", {
      ...base,
      from: patient,
      categories: "VITALS,LABS",
      actions: "READ",
      purposes: "TREATMENT",
      duration: "30d",
    });
    expect(granted.out)
      .to.contain(`Granted: ${f.clinician.address}`)
      .and.contain("LABS, VITALS")
      .and.contain("(block time)");

    const allowed = await runTask("consent:check", {
      ...base,
      category: "VITALS",
      action: "READ",
      purpose: "TREATMENT",
    });
    expect(allowed.out).to.contain("ALLOWED (Allowed)");
    const wrongPurpose = await runTask<{ allowed: boolean; decision: string }>("consent:check", {
      ...base,
      category: "VITALS",
      action: "READ",
      purpose: "RESEARCH",
      json: true,
    });
    expect(wrongPurpose.result).to.include({ allowed: false, decision: "PurposeNotGranted" });
    expect(JSON.parse(wrongPurpose.out)).to.include({ decision: "PurposeNotGranted" });

    const updated = await runTask<{ updated: boolean }>("consent:grant", {
      ...base,
      from: patient,
      categories: "VITALS",
      actions: "READ,AGGREGATE",
      purposes: "TREATMENT",
      duration: "7d",
      json: true,
    });
    expect(updated.result.updated).to.equal(true);

    const revoked = await runTask("consent:revoke", { ...base, from: patient });
    expect(revoked.out).to.contain(`Revoked: ${f.clinician.address}`);
    expect(
      (await runTask("consent:check", { ...base, category: "VITALS", action: "READ", purpose: "TREATMENT" })).out,
    ).to.contain("REFUSED (Revoked)");
  });

  it("explains refusals and bad arguments", async () => {
    const f = await loadFixture(taskFixture);
    const base = { ...f.flags, twin: f.twinId, grantee: f.clinician.address };
    const refused = await taskError("consent:grant", {
      ...base,
      from: "11",
      categories: "VITALS",
      actions: "READ",
      purposes: "TREATMENT",
      duration: "1d",
    });
    expect(refused)
      .to.contain("grant was refused: ConsentPolicy.NotTwinController")
      .and.contain("send from the owner or a delegate");
    const stranger = await taskError("consent:revoke", { ...base, from: "11" });
    expect(stranger).to.contain("revoke was refused: ConsentPolicy.NotTwinController");
    expect(
      await taskError("consent:grant", {
        ...base,
        categories: "VITALS",
        actions: "READ",
        purposes: "TREATMENT",
        duration: "soon",
      }),
    ).to.contain("--duration must be a duration such as 3600, 15m, 4h, 30d or 2w");
    expect(
      await taskError("consent:check", { ...base, category: "VITALS,LABS", action: "READ", purpose: "TREATMENT" }),
    ).to.contain("--category names exactly one of");
    expect(
      await taskError("consent:check", {
        ...base,
        grantee: "0x12",
        category: "VITALS",
        action: "READ",
        purpose: "TREATMENT",
      }),
    ).to.contain("--grantee must be an address");
  });

  it("lists the twin's consent requests, all or only the open ones", async () => {
    const f = await loadFixture(taskFixture);
    await f.consent
      .connect(f.researcher)
      .requestConsent(f.twinId, DataCategory.VITALS, Purpose.RESEARCH, 86_400, hre.ethers.id("reason"));
    await f.consent
      .connect(f.clinician)
      .requestConsent(f.twinId, DataCategory.LABS, Purpose.TREATMENT, 3600, hre.ethers.id("reason2"));
    await f.consent.connect(f.clinician).withdrawRequest(2);
    const all = await runTask("consent:requests", { ...f.flags, twin: f.twinId });
    expect(all.out)
      .to.contain("2 consent requests")
      .and.match(/#1\s+Pending/)
      .and.match(/#2\s+Withdrawn/)
      .and.contain(f.researcher.address);
    const open = await runTask<{ requests: { requestId: bigint; status: string }[] }>("consent:requests", {
      ...f.flags,
      twin: f.twinId,
      pending: true,
      json: true,
    });
    expect(open.result.requests.map((r) => [r.requestId, r.status])).to.deep.equal([[1n, "Pending"]]);
    expect(JSON.parse(open.out).requests[0].requestId).to.equal("1");
    const none = await runTask("consent:requests", { ...f.flags, twin: hre.ethers.id("other") });
    expect(none.out).to.contain("No consent requests");
  });

  it("emergency:open by a responder and emergency:close by the patient", async () => {
    const f = await loadFixture(taskFixture);
    const responder = await indexOf(f.responder.address);
    const base = { ...f.flags, twin: f.twinId };
    const notAllowed = await taskError("emergency:open", {
      ...base,
      from: responder,
      duration: "1h",
      reason: "unconscious at the ER",
    });
    expect(notAllowed).to.contain("ConsentPolicy.EmergencyAccessNotAllowed").and.contain("setEmergencyPolicy");
    await f.consent
      .connect(f.patient)
      .setEmergencyPolicy(f.twinId, true, 4 * 3600, DataCategory.VITALS | DataCategory.ALLERGIES);
    const opened = await runTask<{ until: number; reasonHash: string }>("emergency:open", {
      ...base,
      from: responder,
      duration: "1h",
      reason: "unconscious at the ER",
    });
    expect(opened.out).to.contain(`Emergency access open: ${f.responder.address}`).and.not.contain("unconscious");
    expect(await f.consent.emergencyAccessUntil(f.twinId, f.responder.address)).to.equal(BigInt(opened.result.until));
    expect(await taskError("emergency:open", { ...base, from: responder, duration: "1h" })).to.contain(
      "exactly one of --reason",
    );
    const closed = await runTask("emergency:close", {
      ...base,
      from: await indexOf(f.patient.address),
      responder: f.responder.address,
    });
    expect(closed.out).to.contain(`Emergency access closed: ${f.responder.address}`);
    expect(await f.consent.emergencyAccessUntil(f.twinId, f.responder.address)).to.equal(0n);
    expect(await taskError("emergency:close", { ...base, from: responder })).to.contain(
      "ConsentPolicy.NoEmergencyAccess",
    );
  });
});
