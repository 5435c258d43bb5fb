import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Wallet, id, toBeHex } from "ethers";
import { twinIdOf } from "../chain/twin-id";
import { ALL_CATEGORIES, SourceKind } from "../vocabulary";
import { processPeakRssMb } from "./node-process";

/**
 * Issue 12's pipeline benchmark: N twins, each an EMR bundle and a day of one-minute wearable readings from the
 * synthetic cohort, through the custodian's TwinPipeline on Hardhat's in-process network: records/s, readings/s,
 * peak RSS and gas per twin per day. Twins are ingested `parallel` at a time (the pipeline serializes writes per
 * twin, not per service). Runs in its own Node process (`node -r ts-node/register/transpile-only cohort-scale.ts
 * '<json>'`) so that its peak RSS is its own; the cohort is generated before the clock starts.
 *
 * With `databaseUrl` the pipeline's index lives in that PostgreSQL database instead of SQLite (its tables' size then
 * counts in the storage per twin); blobs and keys are folders either way.
 *
 * Setup (each patient's twin created and its two sources authorized by the patient) is outside the clock and its gas
 * is reported apart: it happens once per patient, not per day.
 */
export interface CohortScaleOptions {
  readonly twins: number;
  /** Twins ingested at a time. */
  readonly parallel: number;
  /** Wearable reading interval, seconds (60: one a minute). */
  readonly intervalSeconds: number;
  /** Bound on the ingest phase; twins not started by then are not ingested (and counted). */
  readonly timeoutMs: number;
  /** A PostgreSQL URL for the pipeline's index (an empty database); omitted: SQLite, the embedded default. */
  readonly databaseUrl?: string;
}

export interface CohortScaleRun {
  /** Where the pipeline's index lived. */
  readonly backend: "sqlite" | "postgres";
  readonly twins: number;
  readonly twinsIngested: number;
  readonly records: number;
  readonly readings: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly recordsPerSecond: number;
  readonly readingsPerSecond: number;
  readonly peakRssMb: number;
  readonly rssBeforeMb: number;
  /** Gas of the pipeline's transactions (record anchors, reading batches, state commits) per twin for its day. */
  readonly gasPerTwinDay: number;
  /** Gas of a twin's one-time setup (createTwin, two authorizeSource). */
  readonly setupGasPerTwin: number;
  readonly transactions: number;
  /** Bytes the twins' blobs, wrapped keys and index took on disk, per twin (for its day). */
  readonly storageBytesPerTwinDay: number;
}

const execFileAsync = promisify(execFile);
const MB = 2 ** 20;

/** Runs the benchmark in a fresh child process; returns its result. */
export async function measureCohortScale(root: string, options: CohortScaleOptions): Promise<CohortScaleRun> {
  const { stdout } = await execFileAsync(
    process.execPath,
    [
      "--expose-gc",
      "-r",
      "ts-node/register/transpile-only",
      join(__dirname, "cohort-scale.ts"),
      JSON.stringify(options),
    ],
    {
      cwd: root,
      timeout: options.timeoutMs + 600_000,
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, HARDHAT_NETWORK: "hardhat" },
    },
  );
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as CohortScaleRun;
}

async function run(options: CohortScaleOptions): Promise<CohortScaleRun> {
  const hre = (await import("hardhat")).default;
  const { setUpLedger } = await import("./chain");
  const { generateCohort } = await import("../fhir");
  const { TwinPipeline } = await import("../pipeline");
  const { FolderKeyStore, LocalFolderBlobStore, RecordVault } = await import("../store");
  const provider = hre.ethers.provider;
  const ledger = await setUpLedger({
    signers: await hre.ethers.getSigners(),
    provider,
    send: (method: string, params: unknown[]) => hre.network.provider.send(method, params),
  });
  const { registry, updateLog, actors } = ledger;
  await hre.network.provider.send("hardhat_setBalance", [actors.emr.address, toBeHex(10n ** 24n)]);
  await hre.network.provider.send("hardhat_setBalance", [actors.wearable.address, toBeHex(10n ** 24n)]);

  const cohort = generateCohort({
    seed: 20240101,
    patients: options.twins,
    days: 1,
    intervalSeconds: options.intervalSeconds,
  });
  const twins: { twinId: string; patient: Wallet }[] = [];
  const setupStart = await provider.getBlockNumber();
  for (let i = 0; i < options.twins; i++) {
    const patient = new Wallet(id(`evaluation:cohort-scale:patient:${i}`), provider);
    await hre.network.provider.send("hardhat_setBalance", [patient.address, toBeHex(10n ** 20n)]);
    const salt = id(`evaluation:cohort-scale:twin:${i}`);
    const twinId = twinIdOf(patient.address, salt);
    await (await registry.connect(patient).createTwin(salt, id(`meta:${i}`), actors.hospital.address)).wait();
    await (
      await registry.connect(patient).authorizeSource(twinId, actors.emr.address, SourceKind.Emr, ALL_CATEGORIES)
    ).wait();
    await (
      await registry
        .connect(patient)
        .authorizeSource(twinId, actors.wearable.address, SourceKind.Device, ALL_CATEGORIES)
    ).wait();
    twins.push({ twinId, patient });
  }
  const setupEnd = await provider.getBlockNumber();
  const setupGas = await gasBetween(provider, setupStart, setupEnd);

  const dir = mkdtempSync(join(tmpdir(), "twinledger-evaluation-cohort-scale-"));
  try {
    const pipeline = await TwinPipeline.open({
      updateLog,
      registry,
      vault: new RecordVault(
        new LocalFolderBlobStore(join(dir, "blobs"), { fsync: false }),
        new FolderKeyStore(join(dir, "keys"), { fsync: false }),
      ),
      custodianKey: new Wallet(id("evaluation:cohort-scale:custodian-key")),
      custodianSigner: actors.hospital,
      patientPublicKey: (twinId) => twins.find((t) => t.twinId === twinId)?.patient.signingKey.publicKey ?? "0x",
      indexFolder: join(dir, "pipeline"),
      fsync: false,
      ...(options.databaseUrl !== undefined && { databaseUrl: options.databaseUrl }),
    });
    global.gc?.();
    const rssBeforeMb = process.memoryUsage().rss / MB;
    const ingestStart = await provider.getBlockNumber();
    const cpu = process.cpuUsage();
    const started = performance.now();
    const deadline = started + options.timeoutMs;
    let next = 0;
    let records = 0;
    let readings = 0;
    let ingested = 0;
    await Promise.all(
      Array.from({ length: Math.max(1, options.parallel) }, async () => {
        while (next < twins.length && performance.now() < deadline) {
          const index = next++;
          const { twinId } = twins[index];
          const patient = cohort.patients[index];
          const emr = await pipeline.ingestEmr(twinId, patient.emr, { sourceSigner: actors.emr });
          const wearable = await pipeline.ingestWearable(twinId, patient.wearable, { deviceSigner: actors.wearable });
          await pipeline.flush(twinId, { deviceSigner: actors.wearable });
          records += emr.records;
          readings += wearable.readings;
          ingested++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const ingestEnd = await provider.getBlockNumber();
    const pipelineGas = await gasBetween(provider, ingestStart, ingestEnd);
    await pipeline.close();
    return {
      backend: options.databaseUrl === undefined ? "sqlite" : "postgres",
      twins: options.twins,
      twinsIngested: ingested,
      records,
      readings,
      seconds,
      cpuSeconds: (used.user + used.system) / 1e6,
      recordsPerSecond: records / seconds,
      readingsPerSecond: readings / seconds,
      peakRssMb: processPeakRssMb(),
      rssBeforeMb,
      gasPerTwinDay: ingested ? pipelineGas.gas / ingested : 0,
      setupGasPerTwin: options.twins ? setupGas.gas / options.twins : 0,
      transactions: pipelineGas.transactions,
      storageBytesPerTwinDay: ingested ? (folderBytes(dir) + (await postgresBytes(options.databaseUrl))) / ingested : 0,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Bytes of the files below a folder. */
function folderBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? folderBytes(path) : statSync(path).size;
  }
  return total;
}

/** Bytes of the tables (with their indexes and TOAST) of a PostgreSQL database; 0 without one. */
async function postgresBytes(url: string | undefined): Promise<number> {
  if (url === undefined) return 0;
  const { Client } = await import("pg");
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ bytes: string | null }>(
      "SELECT sum(pg_total_relation_size(c.oid))::text AS bytes FROM pg_class c " +
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public'",
    );
    return Number(rows[0]?.bytes ?? 0);
  } finally {
    await client.end();
  }
}

/** Gas used and transactions in the blocks (from, to]. */
async function gasBetween(
  provider: { getBlock(n: number): Promise<{ gasUsed: bigint; transactions: readonly string[] } | null> },
  from: number,
  to: number,
): Promise<{ gas: number; transactions: number }> {
  let gas = 0n;
  let transactions = 0;
  for (let n = from + 1; n <= to; n++) {
    const block = await provider.getBlock(n);
    if (block) {
      gas += block.gasUsed;
      transactions += block.transactions.length;
    }
  }
  return { gas: Number(gas), transactions };
}

if (require.main === module) {
  run(JSON.parse(process.argv[2] ?? "{}") as CohortScaleOptions)
    .then((result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0); // Hardhat's runtime keeps handles open
    })
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    });
}
