import path from "node:path";
import { Wallet, type JsonRpcProvider, type Signer } from "ethers";
import { deployTwinLedger } from "../../src/chain/deploy";
import { emergencyReasonCommitment, twinMetadataCommitment, twinIdOf } from "../../src/chain";
import { generateCohort, type CohortPatient } from "../../src/fhir";
import { TwinPipeline } from "../../src/pipeline";
import { createGateway, GatewayClient } from "../../src/service";
import { FolderKeyStore, LocalFolderBlobStore, RecordVault } from "../../src/store";
import { Action, DataCategory, Purpose, SourceKind } from "../../src/vocabulary";

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

/** The demo's emergency reason (health information about the patient: the scan looks for it too). */
export const DEMO_EMERGENCY_REASON = "ambulance 17: unconscious patient";

/** The demo's synthetic patient: `generateCohort({seed: 2024, patients: 2, days: 1, ...}).patients[1]`. */
export function demoPatient(yesterday: string): CohortPatient {
  return generateCohort({ seed: 2024, patients: 2, days: 1, intervalSeconds: 60, start: yesterday }).patients[1];
}

export interface DemoStoryOptions {
  readonly provider: JsonRpcProvider;
  /** Funded accounts of the node: admin, hospital, EMR system, wearable. */
  readonly admin: Signer;
  readonly hospital: Signer;
  readonly emr: Signer;
  readonly wearable: Signer;
  /** Where the service keeps its files (blobs, keys, pipeline index, access log); left in place for the scan. */
  readonly workdir: string;
}

export interface DemoStoryResult {
  readonly patient: CohortPatient;
  readonly twinId: string;
  readonly statuses: readonly number[];
  readonly registry: Awaited<ReturnType<typeof deployTwinLedger>>["registry"];
  readonly patientWallet: Wallet;
}

/**
 * The story of scripts/demo.ts, step for step, through the library against a node (the demo script runs on the
 * embedded network only and deletes its folder): deploy and accredit, create a twin with a salted metadata
 * commitment, authorize the sources, ingest the EMR bundle and a day of wearable readings, grant, query through the
 * gateway over HTTP, aggregate, revoke, break the glass with a salted reason, anchor the access log, read it, close,
 * erase.
 */
export async function runDemoStory(options: DemoStoryOptions): Promise<DemoStoryResult> {
  const { provider, admin, hospital, emr, wearable, workdir } = options;
  const person = async () => {
    const wallet = new Wallet(Wallet.createRandom().privateKey, provider);
    await (await admin.sendTransaction({ to: wallet.address, value: 10n ** 18n })).wait();
    return wallet;
  };
  const [patient, clinician, researcher, responder] = [await person(), await person(), await person(), await person()];
  const serviceKey = Wallet.createRandom();
  const statuses: number[] = [];

  const { registry, consent, updateLog } = await deployTwinLedger({
    deployer: admin,
    governance: [await admin.getAddress()],
  });
  await (await registry.grantRole(await registry.CUSTODIAN_ROLE(), await hospital.getAddress())).wait();
  await (await registry.grantRole(await registry.EMERGENCY_RESPONDER_ROLE(), responder.address)).wait();

  const salt = Wallet.createRandom().privateKey; // 32 random bytes
  const twinId = twinIdOf(patient.address, salt);
  const metadata = twinMetadataCommitment({ schema: "twinledger-twin/1", custodian: await hospital.getAddress() });
  await (await registry.connect(patient).createTwin(salt, metadata.commitment, await hospital.getAddress())).wait();
  await (
    await registry.connect(patient).authorizeSource(twinId, await emr.getAddress(), SourceKind.Emr, EMR_CATEGORIES)
  ).wait();
  await (
    await registry
      .connect(patient)
      .authorizeSource(twinId, await wearable.getAddress(), SourceKind.Device, DataCategory.WEARABLE_STREAMS)
  ).wait();

  const now = (await provider.getBlock("latest"))!.timestamp;
  const yesterday = new Date((Math.floor(now / DAY) - 1) * DAY * 1000).toISOString();
  const record = demoPatient(yesterday);
  const pipeline = await TwinPipeline.open({
    updateLog,
    registry,
    vault: new RecordVault(
      new LocalFolderBlobStore(path.join(workdir, "blobs"), { fsync: false }),
      new FolderKeyStore(path.join(workdir, "keys"), { fsync: false }),
    ),
    custodianKey: serviceKey,
    custodianSigner: hospital,
    patientPublicKey: () => patient.signingKey.publicKey,
    indexFolder: path.join(workdir, "pipeline"),
    batchPolicy: { maxReadings: 1000, maxAgeMs: 60 * 60_000 },
    fsync: false,
  });
  await pipeline.ingestEmr(twinId, record.emr, { sourceSigner: emr });
  await pipeline.ingestWearable(twinId, record.wearable, { deviceSigner: wearable });
  await pipeline.flush(twinId, { deviceSigner: wearable });

  const { chainId } = await provider.getNetwork();
  const gateway = createGateway({
    data: pipeline,
    consent,
    registry,
    updateLog: updateLog.connect(hospital),
    chainId,
    dbPath: path.join(workdir, "access-log.sqlite"),
  });
  try {
    const baseUrl = await gateway.listen();
    const consentAddress = await consent.getAddress();
    const operator = await hospital.getAddress();
    const clientOf = (signer: Wallet) => new GatewayClient({ baseUrl, signer, chainId, consentAddress, operator });
    const ask = async (
      client: GatewayClient,
      purpose: number,
      queryType: "latest-vitals" | "vitals-series",
      params = {},
    ) => {
      const result = await client.query(twinId, queryType, params as never, { purpose, category: READINGS });
      statuses.push(result.status);
    };
    const t = (await provider.getBlock("latest"))!.timestamp;
    await (
      await consent
        .connect(patient)
        .grant(twinId, clinician.address, READINGS, Action.READ, Purpose.TREATMENT, t, t + 30 * DAY)
    ).wait();
    await pipeline.grantReader(twinId, clinician.signingKey.publicKey, READINGS);
    await ask(clientOf(clinician), Purpose.TREATMENT, "latest-vitals");
    await ask(clientOf(researcher), Purpose.RESEARCH, "latest-vitals");
    await (
      await consent
        .connect(patient)
        .grant(twinId, researcher.address, READINGS, Action.AGGREGATE, Purpose.RESEARCH, t, t + 90 * DAY)
    ).wait();
    await ask(clientOf(researcher), Purpose.RESEARCH, "vitals-series", { sign: "heartRate", bucket: "hour" });
    await ask(clientOf(researcher), Purpose.RESEARCH, "latest-vitals");
    await (await consent.connect(patient).revoke(twinId, clinician.address)).wait();
    await ask(clientOf(clinician), Purpose.TREATMENT, "latest-vitals");

    await (
      await consent
        .connect(patient)
        .setEmergencyPolicy(twinId, true, 12 * 3600, READINGS | DataCategory.ALLERGIES | DataCategory.MEDICATIONS)
    ).wait();
    const reason = emergencyReasonCommitment(DEMO_EMERGENCY_REASON);
    await (await consent.connect(responder).openEmergencyAccess(twinId, 4 * 3600, reason.commitment)).wait();
    await ask(clientOf(responder), Purpose.EMERGENCY, "latest-vitals");
    await gateway.anchorNow();
    const log = await clientOf(patient).accessLog(twinId);
    statuses.push(log.status);
    await (await consent.connect(patient).closeEmergencyAccess(twinId, responder.address)).wait();

    await (await registry.connect(patient).eraseTwin(twinId)).wait();
    await pipeline.erase(twinId);
    await ask(clientOf(responder), Purpose.EMERGENCY, "latest-vitals");
  } finally {
    await gateway.close();
  }
  return { patient: record, twinId, statuses, registry, patientWallet: patient };
}
