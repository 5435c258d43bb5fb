/**
 * The TwinLedger scenario on the embedded Hardhat network: `npm run demo`.
 * Every step is a real transaction or view against freshly deployed contracts; the output reads as a story
 * with the gas of each transaction.
 */
import { ethers } from "hardhat";
import { deployTwinLedger } from "../src/chain/deploy";
import { buildReadingTree, proveReading } from "../src/chain/anchors";
import { Action, DataCategory, Purpose, SourceKind } from "../src/vocabulary";
import { Story } from "./lib/story";

const DAY = 24 * 60 * 60;

async function main(): Promise<void> {
  const [admin, hospital, emr, wearable, patient, clinician, researcher, responder] = await ethers.getSigners();
  const story = new Story("TwinLedger: a patient digital twin secured by smart contracts");

  story.chapter("Deployment");
  const { registry, consent, updateLog, contracts } = await deployTwinLedger({
    deployer: admin,
    governance: [admin.address],
  });
  for (const c of contracts) {
    story.fact(`Deploy ${c.name}`, `${c.receipt.gasUsed.toLocaleString("en-US")} gas at ${c.address}`);
  }

  story.chapter("Governance accredits the hospital and an emergency responder");
  await story.tx("Accredit the hospital as a custodian", async () =>
    registry.grantRole(await registry.CUSTODIAN_ROLE(), hospital.address),
  );
  await story.tx("Accredit an emergency responder", async () =>
    registry.grantRole(await registry.EMERGENCY_RESPONDER_ROLE(), responder.address),
  );

  story.chapter("The patient creates a twin and authorizes its data sources");
  const twinId = ethers.keccak256(ethers.randomBytes(32)); // pseudonymous: a hash of a random salt
  const metadata = ethers.id("encrypted twin metadata, stored off chain");
  await story.tx("Patient creates the twin, custodian: the hospital", () =>
    registry.connect(patient).createTwin(twinId, metadata, hospital.address),
  );
  const emrCategories =
    DataCategory.DEMOGRAPHICS |
    DataCategory.CONDITIONS |
    DataCategory.MEDICATIONS |
    DataCategory.LABS |
    DataCategory.VITALS;
  await story.tx("Patient authorizes the hospital's EMR system", () =>
    registry.connect(patient).authorizeSource(twinId, emr.address, SourceKind.Emr, emrCategories),
  );
  await story.tx("Patient authorizes a wearable for its readings", () =>
    registry
      .connect(patient)
      .authorizeSource(twinId, wearable.address, SourceKind.Device, DataCategory.WEARABLE_STREAMS),
  );

  story.chapter("Data arrives: only hashes and content ids go on chain");
  const blobHash = ethers.id("ciphertext of an encrypted FHIR Condition");
  const cid = ethers.concat(["0x01551220", ethers.sha256(ethers.toUtf8Bytes("ciphertext"))]);
  await story.tx("EMR records a conditions update (hash + CID)", () =>
    updateLog.connect(emr).recordUpdate(twinId, DataCategory.CONDITIONS, blobHash, cid),
  );
  const head = await updateLog.logHeadOf(twinId);
  story.fact("Update log", `sequence ${head.sequence}, head ${head.head.slice(0, 18)}…`);

  const now = (await ethers.provider.getBlock("latest"))!.timestamp;
  const readings = Array.from({ length: 1440 }, (_, i) => ({
    readingHash: ethers.id(`encrypted heart-rate reading ${i}`),
    timestamp: now - DAY + i * 60,
  }));
  const tree = buildReadingTree(readings);
  await story.tx(`Wearable anchors a day of readings (${readings.length}) as one Merkle root`, () =>
    updateLog
      .connect(wearable)
      .anchorBatch(twinId, tree.root, readings.length, readings[0].timestamp, readings.at(-1)!.timestamp),
  );
  const sample = readings[720];
  const verified = await updateLog.verifyReading(
    twinId,
    tree.root,
    sample.readingHash,
    sample.timestamp,
    proveReading(tree, sample.readingHash, sample.timestamp),
  );
  story.fact("One reading verified on chain against the batch", verified ? "valid proof" : "INVALID");

  story.chapter("Consent");
  const start = (await ethers.provider.getBlock("latest"))!.timestamp;
  await story.tx("Patient grants a clinician vitals for treatment, 30 days", () =>
    consent
      .connect(patient)
      .grant(
        twinId,
        clinician.address,
        DataCategory.VITALS | DataCategory.WEARABLE_STREAMS,
        Action.READ,
        Purpose.TREATMENT,
        start,
        start + 30 * DAY,
      ),
  );
  const ask = (who: string, purpose: number) =>
    consent.isAuthorized(twinId, who, Action.READ, DataCategory.VITALS, purpose);
  story.fact(
    "May the clinician read vitals for treatment?",
    (await ask(clinician.address, Purpose.TREATMENT)) ? "yes" : "no",
  );
  story.fact(
    "May a researcher read vitals for research?",
    (await ask(researcher.address, Purpose.RESEARCH)) ? "yes" : "no (no consent)",
  );
  story.fact(
    "May the clinician read vitals for research?",
    (await ask(clinician.address, Purpose.RESEARCH)) ? "yes" : "no (wrong purpose)",
  );
  await story.tx("Patient revokes the clinician's grant", () =>
    consent.connect(patient).revoke(twinId, clinician.address),
  );
  story.fact(
    "May the clinician read vitals now?",
    (await ask(clinician.address, Purpose.TREATMENT)) ? "yes" : "no (revoked)",
  );

  story.chapter("Emergency (break-glass) access");
  await story.tx("Patient allows emergency access, at most 12 hours", () =>
    consent
      .connect(patient)
      .setEmergencyPolicy(
        twinId,
        true,
        12 * 3600,
        DataCategory.VITALS | DataCategory.ALLERGIES | DataCategory.MEDICATIONS | DataCategory.CONDITIONS,
      ),
  );
  await story.tx("Responder opens emergency access for 4 hours, with a reason hash", () =>
    consent.connect(responder).openEmergencyAccess(twinId, 4 * 3600, ethers.id("ambulance 17: unconscious patient")),
  );
  story.fact(
    "May the responder read allergies for an emergency?",
    (await consent.isAuthorized(twinId, responder.address, Action.READ, DataCategory.ALLERGIES, Purpose.EMERGENCY))
      ? "yes"
      : "no",
  );
  await story.tx("Patient closes the emergency access", () =>
    consent.connect(patient).closeEmergencyAccess(twinId, responder.address),
  );

  story.end();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
