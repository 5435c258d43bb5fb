import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Wallet, id } from "ethers";
import { twinIdOf } from "../chain/twin-id";
import { ALL_CATEGORIES, SourceKind } from "../vocabulary";
import { BENCHMARK_PATIENT_ID, bundleChunks, measureFhirIngest } from "./fhir-ingest";
import type { FhirAtSize, FhirPipelineRun } from "./types";

/**
 * FHIR ingest at size (issue 11, defect 8), the whole pipeline: one Patient and N generated vital-sign Observations
 * as one collection Bundle (JSON text, made before the clock starts) through `TwinPipeline.ingestEmr` on Hardhat's
 * in-process network: parse and checks, every record encoded, padded and sealed (AES-256-GCM, keys wrapped for the
 * custodian and the patient) into a local blob folder, one anchorRecords transaction, the twin engine and the
 * version commit. Target: 20,000 Observations in at most 10 s and 300 MB RSS on the 2-core machine.
 *
 * Each measurement runs in its own Node process (`node -r ts-node/register/transpile-only fhir-pipeline.ts
 * '<json>'`, which loads Hardhat's runtime for the pipeline run), so that its peak RSS is the process's own
 * (`process.resourceUsage().maxRSS`, the kernel's high-water mark), not the evaluation's. That peak includes Hardhat's
 * runtime and the in-process chain; the RSS just before the ingest (everything set up, the input made) is reported
 * beside it.
 */

export type FhirChildMode = "ingest" | "pipeline";

export interface FhirChildOptions {
  readonly mode: FhirChildMode;
  readonly count: number;
}

/** The target: 20,000 Observations through the pipeline. */
export const FHIR_TARGET = { observations: 20_000, seconds: 10, rssMb: 300 } as const;

const execFileAsync = promisify(execFile);
const MB = 2 ** 20;

/** Runs one measurement in a child process; returns what it printed (its last line, JSON). */
async function inChild<T>(root: string, options: FhirChildOptions, timeoutMs: number): Promise<T> {
  const { stdout } = await execFileAsync(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", join(__dirname, "fhir-pipeline.ts"), JSON.stringify(options)],
    { cwd: root, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, HARDHAT_NETWORK: "hardhat" } },
  );
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as T;
}

/**
 * Both measurements, each in a fresh process: the streamed ingest alone (`measureFhirIngest`) and the whole
 * pipeline. A failure is reported as not measured, with the reason, instead of failing the evaluation.
 */
export async function measureFhirAtSize(root: string, count: number, judged: boolean): Promise<FhirAtSize> {
  const timeoutMs = 600_000;
  try {
    const ingest = await inChild<FhirPipelineRun>(root, { mode: "ingest", count }, timeoutMs);
    const pipeline = await inChild<FhirPipelineRun>(root, { mode: "pipeline", count }, timeoutMs);
    return { measured: true, reason: "", observations: count, judged, ingest, pipeline };
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return { measured: false, reason: message, observations: count, judged, ingest: null, pipeline: null };
  }
}

/** The streamed ingest alone (src/fhir ingestStream), in this process. */
async function ingestRun(count: number): Promise<FhirPipelineRun> {
  const loadAverage = loadavg()[0];
  const m = await measureFhirIngest(count);
  return {
    records: m.records,
    readings: m.readings,
    inputBytes: m.inputBytes,
    seconds: m.seconds,
    cpuSeconds: m.cpuSeconds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    rssBeforeMb: m.baselineRssMb,
    anchorGas: null,
    loadAverage,
  };
}

/** The whole pipeline on the in-process Hardhat network, in this process (which must be a fresh one). */
async function pipelineRun(count: number): Promise<FhirPipelineRun> {
  // Loaded here: only the child that measures the pipeline pays for Hardhat's runtime.
  const hre = (await import("hardhat")).default;
  const { setUpLedger } = await import("./chain");
  const { TwinPipeline } = await import("../pipeline");
  const { FolderKeyStore, LocalFolderBlobStore, RecordVault } = await import("../store");
  const chain = {
    signers: await hre.ethers.getSigners(),
    provider: hre.ethers.provider,
    send: (method: string, params: unknown[]) => hre.network.provider.send(method, params),
  };
  const ledger = await setUpLedger(chain);
  const { registry, updateLog, actors } = ledger;
  const patient = actors.patients[0];
  const salt = id("evaluation:fhir-at-size:twin");
  const twinId = twinIdOf(patient.address, salt);
  await (await registry.connect(patient).createTwin(salt, id("meta:fhir-at-size"), actors.hospital.address)).wait();
  await (
    await registry.connect(patient).authorizeSource(twinId, actors.emr.address, SourceKind.Emr, ALL_CATEGORIES)
  ).wait();

  const dir = mkdtempSync(join(tmpdir(), "twinledger-evaluation-fhir-"));
  try {
    const patientKey = new Wallet(id("evaluation:fhir-at-size:patient-key"));
    const pipeline = await TwinPipeline.open({
      updateLog,
      registry,
      vault: new RecordVault(
        new LocalFolderBlobStore(join(dir, "blobs"), { fsync: false }),
        new FolderKeyStore(join(dir, "keys"), { fsync: false }),
      ),
      custodianKey: new Wallet(id("evaluation:fhir-at-size:custodian-key")),
      custodianSigner: actors.hospital,
      patientPublicKey: () => patientKey.signingKey.publicKey,
      indexFolder: join(dir, "pipeline"),
      fsync: false,
    });
    // The input as the pipeline takes it (JSON text), made before the clock starts.
    const text = [...bundleChunks(count, BENCHMARK_PATIENT_ID)].join("");
    const inputBytes = Buffer.byteLength(text, "utf8");
    global.gc?.();
    const rssBeforeMb = process.memoryUsage().rss / MB;
    const loadAverage = loadavg()[0];
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    const summary = await pipeline.ingestEmr(twinId, text, {
      sourceSigner: actors.emr,
      patient: `Patient/${BENCHMARK_PATIENT_ID}`,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const used = process.cpuUsage(cpu);
    return {
      records: summary.records,
      readings: summary.readings,
      inputBytes,
      seconds,
      cpuSeconds: (used.user + used.system) / 1e6,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      rssBeforeMb,
      anchorGas: Number(summary.anchorGasUsed),
      loadAverage,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const options = JSON.parse(process.argv[2] ?? "{}") as FhirChildOptions;
  (options.mode === "pipeline" ? pipelineRun(options.count) : ingestRun(options.count))
    .then((result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0); // Hardhat's runtime keeps handles open
    })
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    });
}
