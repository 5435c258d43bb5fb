/**
 * The demo story up to a live state, for the web app (`npm run app`) and its browser tests: contracts deployed,
 * a hospital accredited as custodian and a responder as emergency responder, a patient's twin with a week of
 * synthetic readings (seeded: no real data) anchored on chain, a researcher holding an aggregates grant, the
 * emergency policy set, and the gateway serving the app under /app/ with the demo accounts' keys offered to the
 * page (local demo only). Everything else — the clinician's grant, revoking, break-glass, the audit trail,
 * erasure — is left for the browser.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { Wallet, type Provider } from "ethers";
import type { ConsentPolicy, StudyRegistry, TwinRegistry, TwinUpdateLog } from "../../typechain-types";
import { deployTwinLedger } from "../../src/chain/deploy";
import { deployResearch } from "../../src/chain/deploy-research";
import { twinMetadataCommitment } from "../../src/chain/commitments";
import { twinIdOf } from "../../src/chain/twin-id";
import { generateCohort } from "../../src/fhir";
import { TwinPipeline } from "../../src/pipeline";
import { createGateway, type Gateway } from "../../src/service";
import type { DemoAccount } from "../../src/service/app-api";
import { FolderKeyStore, LocalFolderBlobStore, RecordVault } from "../../src/store";
import { Action, DataCategory, Purpose, SourceKind } from "../../src/vocabulary";

const DAY = 24 * 60 * 60;
export const EMR_CATEGORIES =
  DataCategory.DEMOGRAPHICS |
  DataCategory.CONDITIONS |
  DataCategory.MEDICATIONS |
  DataCategory.ALLERGIES |
  DataCategory.PROCEDURES |
  DataCategory.ENCOUNTERS |
  DataCategory.LABS |
  DataCategory.VITALS |
  DataCategory.IMAGING;
export const READINGS = DataCategory.VITALS | DataCategory.WEARABLE_STREAMS;

export interface AppStoryOptions {
  /** The chain's signers: [admin, hospital, emr system, wearable], funded. */
  readonly signers: readonly HardhatEthersSigner[];
  readonly provider: Provider;
  /** The built app (dist-app/). */
  readonly appRoot: string;
  /** Days of wearable readings before now (default 7). */
  readonly days?: number;
  /** Port on 127.0.0.1 (default 0: any free port). */
  readonly port?: number;
  /** Called with each step's description as it completes. */
  readonly log?: (line: string) => void;
}

export interface AppStory {
  /** e.g. `http://127.0.0.1:8600/app/`. */
  readonly url: string;
  readonly baseUrl: string;
  readonly twinId: string;
  readonly gateway: Gateway;
  readonly pipeline: TwinPipeline;
  readonly registry: TwinRegistry;
  readonly consent: ConsentPolicy;
  readonly updateLog: TwinUpdateLog;
  /** Cohort studies; the admin is its ethics board, the hospital its operator. */
  readonly studies: StudyRegistry;
  readonly admin: HardhatEthersSigner;
  readonly hospital: HardhatEthersSigner;
  readonly people: Readonly<Record<DemoAccount["role"], Wallet>>;
  readonly demoAccounts: readonly DemoAccount[];
  close(): Promise<void>;
}

export async function startAppStory(options: AppStoryOptions): Promise<AppStory> {
  const log = options.log ?? (() => undefined);
  const [admin, hospital, emr, wearable] = options.signers as [
    HardhatEthersSigner,
    HardhatEthersSigner,
    HardhatEthersSigner,
    HardhatEthersSigner,
  ];
  const person = async () => {
    const wallet = new Wallet(Wallet.createRandom().privateKey, options.provider);
    await (await admin.sendTransaction({ to: wallet.address, value: 10n ** 19n })).wait();
    return wallet;
  };
  const people = {
    patient: await person(),
    clinician: await person(),
    researcher: await person(),
    responder: await person(),
  };
  const { patient, researcher, responder } = people;
  const workdir = mkdtempSync(path.join(os.tmpdir(), "twinledger-app-"));
  try {
    const { registry, consent, updateLog } = await deployTwinLedger({ deployer: admin, governance: [admin.address] });
    await (await registry.grantRole(await registry.CUSTODIAN_ROLE(), hospital.address)).wait();
    await (await registry.grantRole(await registry.EMERGENCY_RESPONDER_ROLE(), responder.address)).wait();
    const { studies, studiesAddress, devices } = await deployResearch({
      deployer: admin,
      registry: await registry.getAddress(),
      ethicsBoard: [admin.address],
      operators: [hospital.address],
    });
    log("contracts deployed; the hospital is a custodian, the responder an emergency responder");

    const salt = Wallet.createRandom().privateKey;
    const twinId = twinIdOf(patient.address, salt);
    const metadata = twinMetadataCommitment({ schema: "twinledger-twin/1", custodian: hospital.address });
    await (await registry.connect(patient).createTwin(salt, metadata.commitment, hospital.address)).wait();
    await (await registry.connect(patient).authorizeSource(twinId, emr.address, SourceKind.Emr, EMR_CATEGORIES)).wait();
    await (
      await registry
        .connect(patient)
        .authorizeSource(twinId, wearable.address, SourceKind.Device, DataCategory.WEARABLE_STREAMS)
    ).wait();
    log("the patient created the twin and authorized the EMR and a wearable");

    const now = (await options.provider.getBlock("latest"))!.timestamp;
    const days = options.days ?? 7;
    const start = new Date((Math.floor(now / DAY) - days) * DAY * 1000).toISOString();
    const cohort = generateCohort({ seed: 2024, patients: 2, days, intervalSeconds: 300, start });
    const record = cohort.patients[1]!;
    const pipeline = await TwinPipeline.open({
      updateLog,
      registry,
      vault: new RecordVault(
        new LocalFolderBlobStore(path.join(workdir, "blobs"), { fsync: false }),
        new FolderKeyStore(path.join(workdir, "keys"), { fsync: false }),
      ),
      custodianKey: Wallet.createRandom(),
      custodianSigner: hospital,
      patientPublicKey: () => patient.signingKey.publicKey,
      indexFolder: path.join(workdir, "pipeline"),
      batchPolicy: { maxReadings: 1000, maxAgeMs: 60 * 60_000 },
      fsync: false,
      deviceRegistry: devices,
    });
    // Readings from a device recalled on chain are set aside in every answer (the flags are followed every 2 s).
    await pipeline.followDeviceFlags(2_000);
    await pipeline.ingestEmr(twinId, record.emr, { sourceSigner: emr });
    await pipeline.ingestWearable(twinId, record.wearable, { deviceSigner: wearable });
    await pipeline.flush(twinId, { deviceSigner: wearable });
    log(`the hospital ingested the EMR and ${days} days of wearable readings, anchored on chain`);

    const t = (await options.provider.getBlock("latest"))!.timestamp;
    await (
      await consent
        .connect(patient)
        .grant(twinId, researcher.address, READINGS, Action.AGGREGATE, Purpose.RESEARCH, t, t + 90 * DAY)
    ).wait();
    await (
      await consent
        .connect(patient)
        .setEmergencyPolicy(twinId, true, 12 * 3600, READINGS | DataCategory.ALLERGIES | DataCategory.MEDICATIONS)
    ).wait();
    log("the researcher holds an aggregates grant; emergency access is allowed for 12 hours at most");

    const demoAccounts: DemoAccount[] = [
      { label: "Patient (demo)", role: "patient", privateKey: patient.privateKey },
      { label: "Clinician (demo)", role: "clinician", privateKey: people.clinician.privateKey },
      { label: "Researcher (demo)", role: "researcher", privateKey: researcher.privateKey },
      { label: "Emergency responder (demo)", role: "responder", privateKey: responder.privateKey },
    ];
    const erased = new Set<string>();
    const { chainId } = await options.provider.getNetwork();
    const gateway: Gateway = createGateway({
      data: pipeline,
      consent,
      registry,
      updateLog: updateLog.connect(hospital),
      chainId,
      studies: studies.connect(hospital),
      devices,
      dbPath: path.join(workdir, "log", "access-log.sqlite"),
      port: options.port ?? 0,
      anchorIntervalMs: 3_000,
      // One person's browser on 127.0.0.1: the page and its chain reads would pass the per-address limit.
      limits: { perAddress: false },
      webApp: {
        root: options.appRoot,
        demoAccounts,
        studies: studiesAddress,
        relayer: hospital,
        onErased: async (id) => {
          if (erased.has(id)) return { destroyedKeys: 0, redactedEntries: 0 };
          erased.add(id);
          const { destroyedKeys } = await pipeline.erase(id);
          return { destroyedKeys, redactedEntries: await gateway.accessLog.eraseTwin(id) };
        },
      },
    });
    const baseUrl = await gateway.listen();
    return {
      url: `${baseUrl}/app/`,
      baseUrl,
      twinId,
      gateway,
      pipeline,
      registry,
      consent,
      updateLog,
      studies,
      admin,
      hospital,
      people,
      demoAccounts,
      async close() {
        await gateway.close();
        rmSync(workdir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(workdir, { recursive: true, force: true });
    throw error;
  }
}
