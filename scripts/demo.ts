/**
 * The TwinLedger scenario, end to end, on the embedded Hardhat network: `npm run demo`.
 *
 * Contracts are deployed fresh; the patient creates a twin whose id the registry derives from the patient and a salt;
 * a hospital ingests a patient's EMR (one record batch) and a day of wearable readings (a seeded synthetic
 * patient: no real data), encrypted off chain and anchored on chain; the twin raises an alert; readers query the twin through the gateway over HTTP on 127.0.0.1 with EIP-712 signed
 * queries, consent checked on chain for every query, answers verified against the chain; the patient
 * revokes, an emergency responder breaks the glass, the patient reads the access log, and erases the twin.
 * The closing total is the gas of every transaction printed: deployments, governance, the pipeline's anchors and
 * commits, the gateway's access-log anchor and every consent step.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ethers } from "hardhat";
import { Wallet } from "ethers";
import { DEFAULT_ADMIN_DELAY, deployTwinLedger } from "../src/chain/deploy";
import { emergencyReasonCommitment, twinMetadataCommitment } from "../src/chain/commitments";
import { twinIdOf } from "../src/chain/twin-id";
import { generateCohort } from "../src/fhir";
import { TwinPipeline } from "../src/pipeline";
import { createGateway, GatewayClient, verifyAccessLog, verifyAnswer } from "../src/service";
import { FolderKeyStore, LocalFolderBlobStore, RecordVault } from "../src/store";
import { Action, DataCategory, Purpose, SourceKind } from "../src/vocabulary";
import { Story } from "./lib/story";

const DAY = 24 * 60 * 60;
const EMR_CATEGORIES =
  DataCategory.DEMOGRAPHICS |
  DataCategory.CONDITIONS |
  DataCategory.MEDICATIONS |
  DataCategory.ALLERGIES |
  DataCategory.PROCEDURES |
  DataCategory.ENCOUNTERS |
  DataCategory.LABS |
  DataCategory.VITALS |
  DataCategory.IMAGING;
const READINGS = DataCategory.VITALS | DataCategory.WEARABLE_STREAMS;

async function main(): Promise<void> {
  const [admin, hospital, emr, wearable] = await ethers.getSigners();
  // People whose keys the off-chain side needs (records are sealed to their public keys).
  const person = async () => {
    const wallet = new Wallet(Wallet.createRandom().privateKey, ethers.provider);
    await (await admin.sendTransaction({ to: wallet.address, value: ethers.parseEther("1") })).wait();
    return wallet;
  };
  const [patient, clinician, researcher, responder] = [await person(), await person(), await person(), await person()];
  const serviceKey = Wallet.createRandom(); // the hospital service's reader key: never on chain
  const workdir = mkdtempSync(path.join(os.tmpdir(), "twinledger-demo-"));
  const story = new Story("TwinLedger: a patient digital twin secured by smart contracts");

  try {
    story.chapter("1. Deployment and governance");
    // Governance is granted below, as a transaction of the story (deployTwinLedger would do it unseen).
    const { registry, consent, updateLog, contracts } = await deployTwinLedger({ deployer: admin, governance: [] });
    for (const c of contracts) {
      const code = await ethers.provider.getCode(c.address);
      story.paid(`Deploy ${c.name}`, c.receipt.gasUsed, `${((code.length - 2) / 2).toLocaleString("en-US")} bytes`);
    }
    await story.tx(
      `The default admin (handover delay ${DEFAULT_ADMIN_DELAY / 86_400} days) appoints governance`,
      async () => registry.grantRole(await registry.GOVERNANCE_ROLE(), admin.address),
    );
    await story.tx("Governance accredits the hospital as a custodian", async () =>
      registry.grantRole(await registry.CUSTODIAN_ROLE(), hospital.address),
    );
    await story.tx("Governance accredits an emergency responder", async () =>
      registry.grantRole(await registry.EMERGENCY_RESPONDER_ROLE(), responder.address),
    );

    story.chapter("2. The patient creates a twin and authorizes its sources");
    // Pseudonymous and unsquattable: the registry derives the id from the patient and a random salt, never an MRN.
    const salt = ethers.hexlify(ethers.randomBytes(32));
    const twinId = twinIdOf(patient.address, salt);
    // The metadata commitment is salted: equal metadata of two twins gives two unrelated commitments, and no word
    // list reverses it (the patient's app keeps the opening).
    const metadata = twinMetadataCommitment({ schema: "twinledger-twin/1", custodian: hospital.address });
    await story.tx("Patient creates the twin at the hospital (by salt, with a salted metadata commitment)", () =>
      registry.connect(patient).createTwin(salt, metadata.commitment, hospital.address),
    );
    story.fact(
      "Its id, derived on chain as keccak256(patient, salt)",
      (await registry.twinIdOf(patient.address, salt)) === twinId &&
        (await registry.ownerOf(twinId)) === patient.address
        ? `${twinId.slice(0, 18)}…, owned by the patient`
        : "MISMATCH",
    );
    await story.tx("Patient authorizes the hospital's EMR system", () =>
      registry.connect(patient).authorizeSource(twinId, emr.address, SourceKind.Emr, EMR_CATEGORIES),
    );
    await story.tx("Patient authorizes a wearable", () =>
      registry
        .connect(patient)
        .authorizeSource(twinId, wearable.address, SourceKind.Device, DataCategory.WEARABLE_STREAMS),
    );

    story.chapter("3. Data in: encrypted off chain, anchored on chain");
    const now = (await ethers.provider.getBlock("latest"))!.timestamp;
    const yesterday = new Date((Math.floor(now / DAY) - 1) * DAY * 1000).toISOString();
    const cohort = generateCohort({ seed: 2024, patients: 2, days: 1, intervalSeconds: 60, start: yesterday });
    const record = cohort.patients[1]; // a synthetic patient whose day holds alert-worthy episodes
    const blobs = new LocalFolderBlobStore(path.join(workdir, "blobs"), { fsync: false });
    const keys = new FolderKeyStore(path.join(workdir, "keys"), { fsync: false });
    const pipeline = await TwinPipeline.open({
      updateLog,
      registry,
      vault: new RecordVault(blobs, keys),
      custodianKey: serviceKey,
      custodianSigner: hospital,
      patientPublicKey: () => patient.signingKey.publicKey,
      indexFolder: path.join(workdir, "pipeline"),
      batchPolicy: { maxReadings: 1000, maxAgeMs: 60 * 60_000 },
      fsync: false,
    });
    let started = performance.now();
    const ingest = await pipeline.ingestEmr(twinId, record.emr, { sourceSigner: emr });
    story.paid(
      `Hospital ingests the EMR bundle (${record.emr.entry?.length ?? 0} entries): one anchorRecords`,
      ingest.anchorGasUsed,
      `${ingest.records} records in one record batch, ${ingest.skippedCount} skipped, ${(performance.now() - started).toFixed(0)} ms`,
    );
    story.paid("Hospital commits the twin version of the EMR", ingest.commitGasUsed, commitDetail(ingest));
    started = performance.now();
    const worn = await pipeline.ingestWearable(twinId, record.wearable, { deviceSigner: wearable });
    const flushed = await pipeline.flush(twinId, { deviceSigner: wearable });
    const flushes = [worn.flushed, flushed].filter((f): f is NonNullable<typeof f> => f !== null);
    const batches = flushes.reduce((n, f) => n + f.batches.length, 0);
    story.paid(
      `Wearable sends a day of readings (${worn.readings}): anchorBatch`,
      flushes.reduce((gas, f) => gas + f.anchorGasUsed, 0n),
      `${batches} Merkle batch${batches === 1 ? "" : "es"}, ${(performance.now() - started).toFixed(0)} ms`,
    );
    for (const f of flushes) {
      story.paid("Hospital commits the twin version of the readings", f.commitGasUsed, commitDetail(f));
    }
    const { version, anchor } = pipeline.version(twinId);
    story.fact(
      "Twin version on chain (state root, sources root)",
      `version ${version.version}, block ${anchor?.blockNumber}`,
    );
    const open = version.model.alerts.filter((a) => a.status === "open" || a.status === "resolved");
    story.fact("The twin raises alerts", open.map((a) => `${a.rule} (${a.severity})`).join(", ") || "none");

    story.chapter("4. Readers ask the twin through the gateway (HTTP on 127.0.0.1)");
    const { chainId } = await ethers.provider.getNetwork();
    const gateway = createGateway({
      data: pipeline,
      consent,
      registry,
      updateLog: updateLog.connect(hospital),
      chainId,
      dbPath: path.join(workdir, "access-log.sqlite"),
    });
    const baseUrl = await gateway.listen();
    const consentAddress = await consent.getAddress();
    const clientOf = (signer: Wallet) =>
      new GatewayClient({ baseUrl, signer, chainId, consentAddress, operator: hospital.address });
    const ask = async (
      who: string,
      client: GatewayClient,
      purpose: number,
      queryType: "latest-vitals" | "vitals-series",
      params = {},
    ) => {
      const t0 = performance.now();
      const result = await client.query(twinId, queryType, params as never, { purpose, category: READINGS });
      const ms = (performance.now() - t0).toFixed(0);
      if (!result.ok) {
        story.fact(`${who}: ${queryType}`, `HTTP ${result.status} ${result.body.error}, no data (${ms} ms)`);
        return null;
      }
      story.fact(`${who}: ${queryType}`, `HTTP 200 with proofs (${ms} ms)`);
      return result.body;
    };

    const t = (await ethers.provider.getBlock("latest"))!.timestamp;
    await story.tx("Patient grants the clinician vitals for treatment, 30 days", () =>
      consent
        .connect(patient)
        .grant(twinId, clinician.address, READINGS, Action.READ, Purpose.TREATMENT, t, t + 30 * DAY),
    );
    await pipeline.grantReader(twinId, clinician.signingKey.publicKey, READINGS);
    const answer = await ask("Clinician", clientOf(clinician), Purpose.TREATMENT, "latest-vitals");
    if (answer) {
      const verdict = await verifyAnswer(answer, { updateLog });
      story.fact(
        "Clinician verifies every proof against the chain",
        verdict.failures.length === 0 ? "all valid" : `${verdict.failures.length} failures`,
      );
    }
    await ask("Researcher, no consent", clientOf(researcher), Purpose.RESEARCH, "latest-vitals");
    await story.tx("Patient grants the researcher aggregates for research", () =>
      consent
        .connect(patient)
        .grant(twinId, researcher.address, READINGS, Action.AGGREGATE, Purpose.RESEARCH, t, t + 90 * DAY),
    );
    await ask("Researcher, hourly heart-rate aggregates", clientOf(researcher), Purpose.RESEARCH, "vitals-series", {
      sign: "heartRate",
      bucket: "hour",
    });
    await ask(
      "Researcher, raw readings (aggregates only granted)",
      clientOf(researcher),
      Purpose.RESEARCH,
      "latest-vitals",
    );
    await story.tx("Patient revokes the clinician", () => consent.connect(patient).revoke(twinId, clinician.address));
    await ask("Clinician, in the next block", clientOf(clinician), Purpose.TREATMENT, "latest-vitals");

    story.chapter("5. Emergency (break-glass) access, and the patient's audit trail");
    await story.tx("Patient allows emergency access, at most 12 hours", () =>
      consent
        .connect(patient)
        .setEmergencyPolicy(twinId, true, 12 * 3600, READINGS | DataCategory.ALLERGIES | DataCategory.MEDICATIONS),
    );
    // The reason goes on chain as a salted commitment; the responder keeps the opening for the audit.
    const reason = emergencyReasonCommitment("ambulance 17: unconscious patient");
    await story.tx("Responder opens emergency access for 4 hours, with a salted reason commitment", () =>
      consent.connect(responder).openEmergencyAccess(twinId, 4 * 3600, reason.commitment),
    );
    await ask("Responder", clientOf(responder), Purpose.EMERGENCY, "latest-vitals");
    const anchored = await gateway.anchorNow();
    if (anchored) {
      const receipt = await ethers.provider.getTransactionReceipt(anchored.transactionHash);
      story.paid(
        "Gateway anchors its access log on chain",
        receipt?.gasUsed ?? 0n,
        `root of ${Number(anchored.toIndex) - Number(anchored.fromIndex) + 1} entries`,
      );
    } else {
      story.fact("Gateway anchors its access log on chain", "nothing new");
    }
    const log = await clientOf(patient).accessLog(twinId);
    if (log.ok) {
      const emergency = log.body.entries.filter(
        (e) => e.entry.reader.toLowerCase() === responder.address.toLowerCase(),
      );
      const refused = log.body.entries.filter((e) => e.entry.decision !== "allowed").length;
      const proof = await verifyAccessLog(log.body, { updateLog, operator: hospital.address });
      story.fact(
        "Patient reads the access log",
        `${log.body.entries.length} entries (${refused} refused, ${emergency.length} by the responder), proofs ${proof.length === 0 ? "valid" : "INVALID"}`,
      );
    }
    await story.tx("Patient closes the emergency access", () =>
      consent.connect(patient).closeEmergencyAccess(twinId, responder.address),
    );
    await story.refused("Responder tries to open it again at once", () =>
      consent
        .connect(responder)
        .openEmergencyAccess.staticCall(twinId, 4 * 3600, emergencyReasonCommitment("again").commitment),
    );

    story.chapter("6. Erasure");
    await story.tx("Patient erases the twin on chain", () => registry.connect(patient).eraseTwin(twinId));
    const erased = await pipeline.erase(twinId);
    story.fact("Hospital service destroys the wrapped keys it holds", `${erased.destroyedKeys} keys destroyed`);
    const redacted = await gateway.accessLog.eraseTwin(twinId);
    story.fact("Gateway reduces the twin's access-log entries to what the audit needs", `${redacted} entries redacted`);
    await ask("Responder, after erasure", clientOf(responder), Purpose.EMERGENCY, "latest-vitals");
    const head = await updateLog.logHeadOf(twinId);
    story.fact(
      "The anchors stay as proof that the data existed",
      `${head.sequence} entr${head.sequence === 1n ? "y" : "ies"} in the update log (the EMR's record batch), head ${head.head.slice(0, 18)}…`,
    );

    await gateway.close();
    story.end();
  } finally {
    rmSync(workdir, { recursive: true, force: true });
  }
}

/**
 * "version n (on chain: version v of custodian epoch e), block b" of a commit, or why it failed (the next commit
 * catches up).
 */
function commitDetail(outcome: {
  readonly state: {
    readonly version: number;
    readonly chainVersion?: number;
    readonly epoch?: number;
    readonly blockNumber: number;
  } | null;
  readonly commitError?: { readonly code: string };
}): string {
  if (!outcome.state) return `commit failed (${outcome.commitError?.code ?? "unknown"}), caught up by the next`;
  const { version, chainVersion, epoch, blockNumber } = outcome.state;
  const onChain =
    chainVersion === undefined || epoch === undefined
      ? ""
      : ` (on chain: version ${chainVersion} of custodian epoch ${epoch})`;
  return `twin version ${version}${onChain}, block ${blockNumber}`;
}

// `npm run demo -- --study` (scripts/demo-launch.cjs; `hardhat run` passes a script no arguments) runs the study chapter.
if (process.env.TWINLEDGER_DEMO === "study") {
  void import("./demo-study");
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
