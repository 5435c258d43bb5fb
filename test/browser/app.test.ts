/**
 * The web app in a real browser (Playwright driving Debian's Chromium, headless): the demo story lived by clicking.
 * The patient grants the clinician vitals (signed EIP-712, relayed as grantBySig), the clinician sees them with every
 * proof checked, the patient revokes and the clinician's next view shows the refusal; a responder breaks the glass,
 * the access stands out in the patient's audit trail and the patient closes it; the patient erases the twin.
 * Screenshots of each main page go to docs/img/. Skipped (with a message) when no Chromium is installed.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { READINGS, startAppStory, type AppStory } from "../../scripts/lib/app-story";
import { commit, requestReasonCommitment } from "../../src/chain/commitments";
import type { ContributionEntry } from "../../src/research";
import { DataCategory, Purpose } from "../../src/vocabulary";
import { ensureAppBuilt } from "../../scripts/lib/build-app";
import { chromiumPath, launch, screenshot } from "./browser";

describe("web app (browser)", function () {
  this.timeout(300_000);
  let story: AppStory;
  let browser: Browser;
  let context: BrowserContext;
  const external: string[] = [];
  const consoleErrors: string[] = [];

  before(async function () {
    const executable = chromiumPath();
    if (executable === null) {
      console.warn("    (no Chromium: apt-get install chromium, or set CHROMIUM_PATH)");
      this.skip();
    }
    const appRoot = await ensureAppBuilt();
    story = await startAppStory({
      signers: await ethers.getSigners(),
      provider: ethers.provider,
      appRoot,
      days: 3,
    });
    browser = await launch(executable!);
    context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    context.on("request", (request) => {
      if (!request.url().startsWith(story.baseUrl) && !request.url().startsWith("data:")) external.push(request.url());
    });
  });

  afterEach(async function () {
    if (this.currentTest?.state !== "failed") return;
    // What each open page said when the test failed (synthetic data only).
    for (const page of context.pages()) console.log((await page.locator("body").innerText()).slice(0, 3000));
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await story?.close();
  });

  async function signIn(label: string): Promise<Page> {
    const page = await context.newPage();
    page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
    await page.goto(story.url);
    await page.getByRole("button", { name: label }).click();
    return page;
  }

  it("serves the app with a same-origin-only content security policy", async () => {
    const response = await fetch(story.url);
    expect(response.status).to.equal(200);
    expect(response.headers.get("content-security-policy")).to.match(/^default-src 'self'/);
  });

  it("the patient sees their vitals with every proof checked", async () => {
    const page = await signIn("Patient (demo)");
    await expect(page.getByText("demo key in this page")).not.to.equal(null);
    const latest = page.locator("#latest-vitals-heading").locator("xpath=../..");
    await latest.getByTestId("proof-summary").waitFor({ timeout: 120_000 });
    expect(await latest.getByTestId("proof-summary").textContent()).to.match(/^All \d+ proofs checked/);
    await page.locator(".chart canvas").first().waitFor({ timeout: 120_000 });
    await page.locator("#alerts-heading").waitFor();
    await page.waitForLoadState("networkidle");
    await screenshot(page, "patient-twin");
    await page.close();
  });

  it("is usable by keyboard and at a phone's width", async () => {
    const page = await context.newPage();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(story.url);
    await page.getByRole("button", { name: "Patient (demo)" }).waitFor();
    // Tab to the patient's demo account and press Enter: signed in without a mouse.
    for (
      let i = 0;
      i < 10 &&
      !(await page.getByRole("button", { name: "Patient (demo)" }).evaluate((b) => b === document.activeElement));
      i++
    ) {
      await page.keyboard.press("Tab");
    }
    await page.keyboard.press("Enter");
    const latest = page.locator("#latest-vitals-heading").locator("xpath=../..");
    await latest.getByTestId("proof-summary").waitFor({ timeout: 120_000 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, "no sideways scrolling at 390 px").to.be.at.most(0);
    await page.locator(".chart canvas").first().waitFor({ timeout: 120_000 });
    await page.waitForLoadState("networkidle");
    await screenshot(page, "phone-twin");
    await page.close();
  });

  it("the patient grants the clinician vitals; the clinician sees them with proofs; after a revoke, a refusal", async () => {
    const clinician = story.people.clinician.address;
    const patient = await signIn("Patient (demo)");
    await patient.getByRole("button", { name: "Who can see what" }).click();
    await patient.getByLabel("Grantee address").fill(clinician);
    await patient.getByRole("button", { name: "Grant", exact: true }).click();
    await patient.locator(`tr[data-grantee="${clinician}"]`).waitFor({ timeout: 30_000 });
    expect(await patient.locator(`tr[data-grantee="${clinician}"] .grant-state`).textContent()).to.match(/left$/);
    await screenshot(patient, "patient-consent");

    const doctor = await signIn("Clinician (demo)");
    await doctor.locator("ul.patients button").first().click();
    const latest = doctor.locator("#latest-vitals-heading").locator("xpath=../..");
    await latest.getByTestId("proof-summary").waitFor({ timeout: 120_000 });
    expect(await latest.getByTestId("proof-summary").textContent()).to.match(/^All \d+ proofs checked/);
    expect(await doctor.locator(".vital").count()).to.be.greaterThan(0);
    await doctor.waitForLoadState("networkidle");
    await screenshot(doctor, "clinician-view");

    // Asked for another purpose than granted: refused, with the reason.
    await doctor.getByLabel("Purpose of this view").selectOption({ label: "research" });
    const wrong = doctor.locator("#latest-vitals-heading").locator("xpath=../..").getByRole("alert");
    await wrong.waitFor({ timeout: 30_000 });
    expect(await wrong.textContent()).to.contain("wrong-purpose");
    await doctor.getByLabel("Purpose of this view").selectOption({ label: "treatment" });

    await patient.locator(`tr[data-grantee="${clinician}"]`).getByRole("button", { name: "Revoke" }).click();
    await patient.getByText(/Revoke: done/).waitFor({ timeout: 30_000 });

    await doctor.getByRole("button", { name: "Refresh" }).click();
    await doctor.locator("ul.patients .grant-state", { hasText: "revoked" }).waitFor({ timeout: 30_000 });
    await doctor.locator("ul.patients button").first().click();
    const refusal = doctor.locator("#latest-vitals-heading").locator("xpath=../..").getByRole("alert");
    await refusal.waitFor({ timeout: 30_000 });
    expect(await refusal.textContent())
      .to.contain("the patient revoked your grant")
      .and.contain("revoked");
    await screenshot(doctor, "clinician-refused");
    await doctor.close();

    // The clinician asks again (a consent request on chain); the patient approves it in the app.
    const reason = requestReasonCommitment("follow-up of the arrhythmia").commitment;
    await (
      await story.consent
        .connect(story.people.clinician)
        .requestConsent(story.twinId, READINGS, Purpose.TREATMENT, 7 * 86_400, reason)
    ).wait();
    await patient.getByRole("button", { name: "My twin" }).click();
    await patient.getByRole("button", { name: "Who can see what" }).click();
    await patient.getByRole("button", { name: "Approve" }).click();
    await patient.getByText(/Approve: done in block \d+/).waitFor({ timeout: 60_000 });
    // The page re-reads the grants at (or after) the approval's block: the new grant shows without a reload.
    await patient
      .locator(`tr[data-grantee="${clinician}"] .grant-state`, { hasText: /left$/ })
      .waitFor({ timeout: 30_000 });
    expect((await story.consent.grantOf(story.twinId, clinician)).revokedAt).to.equal(0n);
    await patient.close();
  });

  it("a responder breaks the glass: the access stands out in the audit trail, and the patient closes it", async () => {
    const responder = await signIn("Emergency responder (demo)");
    await responder.getByText("Emergency responder: break the glass").click();
    await responder.getByLabel("Twin id").fill(story.twinId);
    await responder.getByLabel(/^Reason/).fill("ambulance 17: unconscious patient");
    await responder.getByRole("button", { name: "Open emergency access" }).click();
    const latest = responder.locator("#latest-vitals-heading").locator("xpath=../..");
    await latest.getByTestId("proof-summary").waitFor({ timeout: 120_000 });
    expect(await latest.getByTestId("proof-summary").textContent()).to.match(/^All \d+ proofs checked/);

    const patient = await signIn("Patient (demo)");
    await patient.getByRole("button", { name: "Audit trail" }).click();
    await responder.close();
    const emergency = patient.locator(".audit-entry.emergency").first();
    await emergency.waitFor({ timeout: 30_000 });
    expect(await emergency.textContent())
      .to.contain("EMERGENCY")
      .and.contain("emergency access under your emergency policy");
    expect(await patient.locator('.audit-entry[data-decision="revoked"]').count()).to.be.greaterThan(0);
    // The gateway anchors its log every few seconds; the trail reads itself again when the anchor lands, and the
    // emergency entry's proof then shows as checked against the chain (no reload by the person).
    await patient.locator(".audit-entry.emergency .proof-checked").first().waitFor({ timeout: 60_000 });
    await patient.getByText(/every anchored proof checked/).waitFor({ timeout: 30_000 });
    await screenshot(patient, "patient-audit");

    await patient.getByRole("button", { name: "Who can see what" }).click();
    await patient.getByRole("button", { name: "Close emergency access" }).click();
    await patient.getByText(/Close the emergency access: done/).waitFor({ timeout: 30_000 });
    const accesses = patient.locator("#emergency-accesses-heading").locator("xpath=../..");
    await accesses.getByText(/closed \(cooldown/).waitFor({ timeout: 30_000 });
    const until = await story.consent.emergencyAccessUntil(story.twinId, story.people.responder.address);
    expect(until).to.equal(0n);
    await patient.close();
  });

  it("the twin's study enrolment and its cohort contributions show in the audit trail; the patient withdraws", async () => {
    const { studies, admin, people, twinId } = story;
    const sponsor = people.researcher;
    const t = (await ethers.provider.getBlock("latest"))!.timestamp;
    await (
      await studies.connect(sponsor).registerStudy({
        purpose: Purpose.RESEARCH,
        categories: DataCategory.VITALS,
        aggregates: 1 | 2, // count, mean
        minCohort: 2,
        budget: 4000,
        windowStart: t,
        windowEnd: t + 365 * 86_400,
        protocolCommitment: commit("resting heart rate in adults, v1").commitment,
      })
    ).wait();
    const studyId = await studies.studyCount();
    await (await studies.connect(admin).reviewStudy(studyId, true)).wait();
    await (await studies.connect(people.patient).enrol(studyId, twinId)).wait();
    // A cohort answer over the twin: the gateway records the contribution in the twin's access log, as its cohort
    // route does (src/research/access.ts contributionEntries): reader the sponsor, decision "contributed".
    const contribution: ContributionEntry = {
      time: Date.now(),
      twinId,
      reader: sponsor.address,
      queryType: `cohort-mean:study-${studyId}`,
      category: DataCategory.VITALS,
      purpose: Purpose.RESEARCH,
      decision: "contributed",
      status: 200,
      requestHash: ethers.id("a cohort query of the sponsor"),
    };
    await story.gateway.accessLog.append(contribution);

    const patient = await signIn("Patient (demo)");
    await patient.getByRole("button", { name: "Audit trail" }).click();
    const contributed = patient.locator(".audit-entry.contributed").first();
    await contributed.waitFor({ timeout: 60_000 });
    expect(await contributed.textContent()).to.match(
      new RegExp(`contributed vitals to study ${studyId} \\(sponsor Researcher`),
    );
    await patient.locator(`.study-event.enrolled[data-study="${studyId}"]`).waitFor({ timeout: 30_000 });
    const state = patient.locator(`.enrolment[data-study="${studyId}"] .enrolment-state`);
    expect(await state.textContent()).to.match(/^enrolled since block \d+$/);
    // Research only: the filter by purpose keeps the contribution and the enrolment.
    await patient.getByLabel("Purpose").selectOption({ label: "research" });
    expect(await patient.locator(".audit-entry.emergency").count()).to.equal(0);
    expect(await patient.locator(".audit-entry.contributed").count()).to.equal(1);
    await screenshot(patient, "patient-audit-study");

    await patient.locator(`.enrolment[data-study="${studyId}"]`).getByRole("button", { name: "Withdraw" }).click();
    await patient
      .getByText(new RegExp(`Withdraw from study ${studyId}: done in block \\d+`))
      .waitFor({ timeout: 60_000 });
    await state.filter({ hasText: /^withdrawn at block \d+/ }).waitFor({ timeout: 30_000 });
    await patient.locator(`.study-event.withdrew[data-study="${studyId}"]`).waitFor({ timeout: 30_000 });
    expect(await studies.isEnrolled(studyId, twinId)).to.equal(false);
    await patient.close();
  });

  it("the patient erases the twin, told first what is destroyed and what stays", async () => {
    const patient = await signIn("Patient (demo)");
    await patient.getByRole("button", { name: "Erasure" }).click();
    await patient.getByText("What stays on chain").waitFor();
    const erase = patient.getByRole("button", { name: "Erase the twin" });
    expect(await erase.isDisabled()).to.equal(true);
    await patient.getByLabel(/I understand/).check();
    await patient.getByLabel("Type ERASE to confirm").fill("ERASE");
    await screenshot(patient, "patient-erasure");
    await erase.click();
    await patient.getByText(/The hospital destroyed \d+ keys/).waitFor({ timeout: 30_000 });
    expect(Number(await story.registry.statusOf(story.twinId))).to.equal(3); // Erased
    expect(story.pipeline.holding(story.twinId)).to.equal("erased");
    await patient.close();
  });

  it("asked nothing of any other origin, and broke no content security rule", () => {
    expect(external).to.deep.equal([]);
    expect(consoleErrors.filter((e) => /Content Security Policy/.test(e))).to.deep.equal([]);
  });
});
