import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Wallet, id, toBeHex, type JsonRpcProvider, type Signer, type TransactionResponse } from "ethers";
import { twinIdOf } from "../chain/twin-id";
import { cohortPatient, resolveCohortOptions, type CohortPatient, type ResolvedCohortOptions } from "../fhir";
import { MapLimitError, mapLimit } from "../pipeline/concurrency";
import { TwinPipeline } from "../pipeline";
import { FolderKeyStore, LocalFolderBlobStore, RecordVault } from "../store";
import { ALL_CATEGORIES, SourceKind } from "../vocabulary";
import type { TwinRegistry } from "../../typechain-types";
import { hardhatLoaded, rpcLedger, type FhirLedger } from "./fhir-run";
import { processPeakRssMb } from "./node-process";
import type { CohortScaleChildRun, CohortScaleOptions } from "./cohort-scale";

/** The environment variable that hands this child its PostgreSQL URL (not its arguments: they show in errors). */
export const COHORT_SCALE_DATABASE_URL = "TWINLEDGER_COHORT_SCALE_DATABASE_URL";

/**
 * The measured child's side of the scale-out benchmark (cohort-scale.ts starts it, compiled): TwinLedger deployed on
 * the node at `rpcUrl` (anvil, its own process, over JSON-RPC on 127.0.0.1), every twin created and its two sources
 * authorized (outside the clock), then the twins through the custodian's TwinPipeline, `parallel` at a time.
 *
 * The cohort is never held whole: patients are generated `GENERATE_AHEAD` at a time (the same patients, by index,
 * as `generateCohort` gives for the seed), each chunk before its part of the clock. The clock runs only while a chunk
 * is ingested; between chunks it stops while the next one is generated, so records/s and readings/s are the
 * pipeline's alone, as when the whole cohort was generated before the clock.
 */

/** Patients generated at a time, outside the clock (about 0.3 MB each as objects). */
export const GENERATE_AHEAD = 50;
/** Setup transactions' patients in flight at once, and the gas each setup transaction may use at most. */
const SETUP_PARALLEL = 16;
const SETUP_GAS_LIMIT = 400_000n;
const MB = 2 ** 20;
export const COHORT_SEED = 20240101;

interface Twin {
  readonly twinId: string;
  readonly patient: Wallet;
}

/** Funds each patient on anvil and sends its createTwin and two authorizeSource, several patients at a time, each
 * patient's three with explicit nonces and gas limits (no estimate against a state the earlier ones change). */
async function setUpTwins(
  provider: JsonRpcProvider,
  registry: TwinRegistry,
  count: number,
  roles: { readonly hospital: string; readonly emr: string; readonly wearable: string },
): Promise<{ twins: Twin[]; gas: number }> {
  const twins = await unwrapped(
    mapLimit(
      Array.from({ length: count }, (_, i) => i),
      SETUP_PARALLEL,
      async (i): Promise<Twin & { gas: bigint }> => {
        const patient = new Wallet(id(`evaluation:cohort-scale:patient:${i}`), provider);
        await provider.send("anvil_setBalance", [patient.address, toBeHex(10n ** 20n)]);
        const salt = id(`evaluation:cohort-scale:twin:${i}`);
        const twinId = twinIdOf(patient.address, salt);
        const as = registry.connect(patient);
        const overrides = (nonce: number) => ({ nonce, gasLimit: SETUP_GAS_LIMIT });
        const sent: TransactionResponse[] = [
          await as.createTwin(salt, id(`meta:${i}`), roles.hospital, overrides(0)),
          await as.authorizeSource(twinId, roles.emr, SourceKind.Emr, ALL_CATEGORIES, overrides(1)),
          await as.authorizeSource(twinId, roles.wearable, SourceKind.Device, ALL_CATEGORIES, overrides(2)),
        ];
        let gas = 0n;
        for (const tx of sent) {
          const receipt = await tx.wait();
          if (receipt === null || receipt.status !== 1) throw new Error(`setup transaction of twin ${i} failed`);
          gas += receipt.gasUsed;
        }
        return { twinId, patient, gas };
      },
    ),
  );
  return { twins, gas: Number(twins.reduce((sum, t) => sum + t.gas, 0n)) };
}

/** Rethrows the first error of a `mapLimit` as it was thrown. */
async function unwrapped<R>(run: Promise<R[]>): Promise<R[]> {
  try {
    return await run;
  } catch (error) {
    throw error instanceof MapLimitError ? error.error : error;
  }
}

/** Gas used and transactions in the blocks (from, to], asked 200 blocks per JSON-RPC batch (not one call a block). */
export async function gasBetween(
  url: string,
  from: number,
  to: number,
): Promise<{ gas: number; transactions: number }> {
  let gas = 0n;
  let transactions = 0;
  for (let start = from + 1; start <= to; start += 200) {
    const numbers = Array.from({ length: Math.min(200, to - start + 1) }, (_, k) => start + k);
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(
        numbers.map((n, k) => ({ jsonrpc: "2.0", id: k, method: "eth_getBlockByNumber", params: [toBeHex(n), false] })),
      ),
      signal: AbortSignal.timeout(30_000),
    });
    const answers = (await response.json()) as { result?: { gasUsed: string; transactions: unknown[] } | null }[];
    if (!Array.isArray(answers) || answers.length !== numbers.length)
      throw new Error("eth_getBlockByNumber batch failed");
    for (const answer of answers) {
      if (!answer.result) throw new Error("a block between the marks is missing");
      gas += BigInt(answer.result.gasUsed);
      transactions += answer.result.transactions.length;
    }
  }
  return { gas: Number(gas), transactions };
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

/** The clock of the ingest: wall and CPU time summed over the windows it ran (chunks), stopped in between. */
class ChunkClock {
  seconds = 0;
  cpuSeconds = 0;
  #started = 0;
  #cpu: NodeJS.CpuUsage = { user: 0, system: 0 };
  start(): void {
    this.#cpu = process.cpuUsage();
    this.#started = performance.now();
  }
  stop(): void {
    this.seconds += (performance.now() - this.#started) / 1000;
    const used = process.cpuUsage(this.#cpu);
    this.cpuSeconds += (used.user + used.system) / 1e6;
  }
}

interface IngestRoles {
  readonly emr: Signer;
  readonly wearable: Signer;
}

/** The twins through the pipeline, chunk by chunk; stops starting twins once `deadline` (ms, on the clock) passed. */
async function ingestCohort(
  pipeline: TwinPipeline,
  twins: readonly Twin[],
  cohort: ResolvedCohortOptions,
  options: CohortScaleOptions,
  roles: IngestRoles,
): Promise<{ clock: ChunkClock; records: number; readings: number; ingested: number; generateSeconds: number }> {
  const clock = new ChunkClock();
  let records = 0;
  let readings = 0;
  let ingested = 0;
  let generateSeconds = 0;
  for (let from = 0; from < twins.length && clock.seconds * 1000 < options.timeoutMs; from += GENERATE_AHEAD) {
    const generating = performance.now();
    const chunk: CohortPatient[] = [];
    for (let i = from; i < Math.min(twins.length, from + GENERATE_AHEAD); i++) chunk.push(cohortPatient(cohort, i));
    generateSeconds += (performance.now() - generating) / 1000;
    let next = 0;
    clock.start();
    const deadline = performance.now() + options.timeoutMs - clock.seconds * 1000;
    await Promise.all(
      Array.from({ length: Math.max(1, options.parallel) }, async () => {
        while (next < chunk.length && performance.now() < deadline) {
          const k = next++;
          const patient = chunk[k];
          chunk[k] = undefined as unknown as CohortPatient; // its bundles are garbage once ingested
          const { twinId } = twins[from + k];
          const emr = await pipeline.ingestEmr(twinId, patient.emr, { sourceSigner: roles.emr });
          const wearable = await pipeline.ingestWearable(twinId, patient.wearable, { deviceSigner: roles.wearable });
          await pipeline.flush(twinId, { deviceSigner: roles.wearable });
          records += emr.records;
          readings += wearable.readings;
          ingested++;
        }
      }),
    );
    clock.stop();
  }
  return { clock, records, readings, ingested, generateSeconds };
}

/** The benchmark on the node at `rpcUrl` (anvil), in this process: see the module's comment. */
export async function cohortScaleRun(
  options: CohortScaleOptions & { readonly rpcUrl: string },
): Promise<CohortScaleChildRun> {
  const ledger: FhirLedger = await rpcLedger(options.rpcUrl, "anvil");
  const provider = ledger.hospital.provider as JsonRpcProvider;
  const wearable = await provider.getSigner(4);
  const [hospital, emr] = [await ledger.hospital.getAddress(), await ledger.emr.getAddress()];
  const dir = mkdtempSync(join(tmpdir(), "twinledger-evaluation-cohort-scale-"));
  try {
    for (const account of [emr, wearable.address, hospital]) {
      await provider.send("anvil_setBalance", [account, toBeHex(10n ** 24n)]);
    }
    const setupStarted = performance.now();
    const { twins, gas: setupGas } = await setUpTwins(provider, ledger.registry, options.twins, {
      hospital,
      emr,
      wearable: wearable.address,
    });
    const setupSeconds = (performance.now() - setupStarted) / 1000;
    const publicKeys = new Map(twins.map((t) => [t.twinId.toLowerCase(), t.patient.signingKey.publicKey]));
    const pipeline = await TwinPipeline.open({
      updateLog: ledger.updateLog,
      registry: ledger.registry,
      vault: new RecordVault(
        new LocalFolderBlobStore(join(dir, "blobs"), { fsync: false }),
        new FolderKeyStore(join(dir, "keys"), { fsync: false }),
      ),
      custodianKey: new Wallet(id("evaluation:cohort-scale:custodian-key")),
      custodianSigner: ledger.hospital,
      patientPublicKey: (twinId) => publicKeys.get(twinId.toLowerCase()) ?? "0x",
      indexFolder: join(dir, "pipeline"),
      fsync: false,
      ...(options.databaseUrl !== undefined && { databaseUrl: options.databaseUrl }),
    });
    const cohort = resolveCohortOptions({
      seed: COHORT_SEED,
      patients: options.twins,
      days: 1,
      intervalSeconds: options.intervalSeconds,
    });
    global.gc?.();
    const rssBeforeMb = process.memoryUsage().rss / MB;
    const ingestStart = await provider.getBlockNumber();
    const done = await ingestCohort(pipeline, twins, cohort, options, { emr: ledger.emr, wearable });
    const ingestEnd = await provider.getBlockNumber();
    const pipelineGas = await gasBetween(options.rpcUrl, ingestStart, ingestEnd);
    global.gc?.();
    const heapAfterMb = process.memoryUsage().heapUsed / MB;
    await pipeline.close();
    const { clock, ingested, records, readings } = done;
    return {
      backend: options.databaseUrl === undefined ? "sqlite" : "postgres",
      twins: options.twins,
      twinsIngested: ingested,
      parallel: options.parallel,
      records,
      readings,
      seconds: clock.seconds,
      cpuSeconds: clock.cpuSeconds,
      recordsPerSecond: records / clock.seconds,
      readingsPerSecond: readings / clock.seconds,
      peakRssMb: processPeakRssMb(),
      rssBeforeMb,
      heapAfterMb,
      gasPerTwinDay: ingested ? pipelineGas.gas / ingested : 0,
      setupGasPerTwin: options.twins ? setupGas / options.twins : 0,
      transactions: pipelineGas.transactions,
      storageBytesPerTwinDay: ingested ? (folderBytes(dir) + (await postgresBytes(options.databaseUrl))) / ingested : 0,
      setupSeconds,
      generateSeconds: done.generateSeconds,
      generatedAtOnce: GENERATE_AHEAD,
      chain: "anvil",
      // (as fhir-pipeline.ts childRuntime, not imported: its main block would run in this bundle)
      runtime: __filename.endsWith(".ts") ? "ts-node" : "compiled",
      hardhatLoaded: hardhatLoaded(),
    };
  } finally {
    ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  // A measured child outlives no evaluation: it ends when its parent is gone (reparented).
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && process.exit(1), 500).unref();
  const databaseUrl = process.env[COHORT_SCALE_DATABASE_URL];
  const options = JSON.parse(process.argv[2] ?? "{}") as CohortScaleOptions & { rpcUrl: string };
  cohortScaleRun({ ...options, ...(databaseUrl ? { databaseUrl } : {}) })
    .then((result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    })
    .catch((error: unknown) => {
      // the stack, then the message on the last line (what the parent reports)
      const message = error instanceof Error ? `${error.stack ?? ""}\n${error.name}: ${error.message}` : String(error);
      process.stderr.write(`${message}\n`);
      process.exit(1);
    });
}
