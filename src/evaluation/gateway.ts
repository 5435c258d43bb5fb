import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Wallet, id } from "ethers";
import { generateCohort } from "../fhir";
import type { Gateway } from "../service";
import { FolderKeyStore, LocalFolderBlobStore, RecordVault } from "../store";
import { ALL_CATEGORIES, Action, Purpose } from "../vocabulary";
import { measureCapacity, type CapacityLevel, type MeasuredRunWrapper } from "./gateway-capacity";
import { measureReplicas, type ReplicaCapacity } from "./gateway-replicas";
import { enrolReplicaTwins } from "./replica-twins";
import { measureColdQuery, type ColdQuery } from "./gateway-cold";
import type { LoadMode, LoadOptions, LoadResult } from "./gateway-load";
import type { RpcContext } from "./network";
import { summarize } from "./stats";
import type { ConcurrencyRun, NetworkPart, RateLimitEffect } from "./types";

export interface GatewayOptions {
  readonly concurrencies: readonly number[];
  /** Queries per concurrency level (after a warm-up of `warmup` queries). */
  readonly requests: number;
  readonly warmup: number;
  /** Bound on each concurrency level. */
  readonly timeoutMs: number;
  /** The cohort patient whose EMR export and wearable day the pipeline ingests. */
  readonly cohortSeed: number;
  /** The wearable's finest reading interval for that day (60 to 3600 s). */
  readonly readingIntervalSeconds: number;
  /**
   * The concurrency of the rate limiter's run (issue 10, item 7): the same pre-signed load against a second gateway on
   * the same pipeline with both limits on but never hit, alternated with the limits-off gateway; omitted: not run.
   */
  readonly rateLimitConcurrency?: number;
  /**
   * The autocannon capacity run (issue 12): its concurrencies and pre-signed queries per level, and what wraps each
   * measured run against the gateway (see `CapacityOptions.aroundGatewayRun`); omitted: not run.
   */
  readonly capacity?: {
    readonly concurrencies: readonly number[];
    readonly requests: number;
    readonly aroundGatewayRun?: MeasuredRunWrapper;
  };
  /**
   * The replica run (issue 12): gateway processes sharing one PostgreSQL, for each count in `processes`, with
   * each of `concurrencies` autocannon connections in all, `requests` pre-signed queries per level, spread over
   * `twins` twins (default 1; src/evaluation/replica-twins.ts); omitted: not run.
   */
  readonly replicas?: {
    readonly processes: readonly number[];
    readonly concurrencies: readonly number[];
    readonly twins?: number;
    readonly requests: number;
    readonly backend?: "postgres" | "sqlite";
    /** `--cpu-prof` of each gateway process into this folder (for profiling the gateway per query). */
    readonly cpuProfileDir?: string;
    /**
     * Also these levels with the processes sharing one SQLite file instead (processes of one machine), after the
     * run above; omitted: not run.
     */
    readonly sqlite?: { readonly processes: readonly number[]; readonly concurrencies: readonly number[] };
  };
  /** Runs of the first query on a cold twin (a fresh pipeline and gateway each); omitted or 0: not run. */
  readonly coldRuns?: number;
}

/** The origin the replicas share (their signed audience); they listen on 127.0.0.1 ports behind it. */
export const REPLICA_ORIGIN = "https://gateway.twinledger.test";

/** The limits of the rate limiter's run: on, per signer and per address, with maxima never reached. */
export const NEVER_HIT_LIMITS = {
  perSigner: { max: 1_000_000_000, windowMs: 60_000 },
  perAddress: { max: 1_000_000_000, windowMs: 60_000 },
} as const;

/** Rounds of the rate limiter's run: limits off, on, off, on (each round one load of `requests` queries). */
const RATE_LIMIT_ROUNDS = 2;

const execFileAsync = promisify(execFile);
const tempDirs = new Set<string>();

/** Removes the gateway's temporary folders still present (for signal and exit handlers); synchronous. */
export function removeGatewayTempDirs(): void {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Where the query gateway lives (src/service: createGateway, GatewayClient). */
export function gatewayModulePath(root: string): string {
  return join(root, "src", "service", "index.ts");
}

/**
 * End-to-end query latency through the real gateway over the real pipeline, against the node: the custodian's
 * TwinPipeline ingests one cohort patient (EMR export and a day of wearable readings: the EMR bundle anchored as one
 * record batch with anchorRecords, readings in Merkle batches, the twin version committed), the patient grants a reader, and the
 * reader's queries run sign → POST /v1/query over HTTP (the gateway checks the signature and the consent on chain
 * at the head, answers with proofs) → proof check against the chain (verifyAnswer), at each concurrency.
 */
export async function measureGateway(
  root: string,
  ctx: RpcContext,
  options: GatewayOptions,
  tick: (what: string) => void,
): Promise<NetworkPart["gateway"]> {
  if (!existsSync(gatewayModulePath(root))) {
    return {
      measured: false,
      reason: "the query gateway (src/service: createGateway, GatewayClient) was not in the tree when this run started",
      runs: [],
      description: "",
    };
  }
  // Loaded here, not at the top: src/service and src/pipeline land separately, and a gateway that does not load
  // makes this part "not measured" (with the reason) instead of failing the whole evaluation.
  let service: typeof import("../service");
  let TwinPipeline: (typeof import("../pipeline"))["TwinPipeline"];
  try {
    service = await import("../service");
    TwinPipeline = (await import("../pipeline")).TwinPipeline;
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return {
      measured: false,
      reason: `src/service or src/pipeline did not load: ${message}`,
      runs: [],
      description: "",
    };
  }
  const { createGateway } = service;
  const { ledger, roles, twinId, provider } = ctx;
  const dir = mkdtempSync(join(tmpdir(), "twinledger-evaluation-gateway-"));
  tempDirs.add(dir);
  let gateway: Gateway | null = null;
  let limited: Gateway | null = null;
  try {
    tick("gateway: pipeline ingest and anchoring");
    const blobs = new LocalFolderBlobStore(join(dir, "blobs"), { fsync: false });
    const keys = new FolderKeyStore(join(dir, "keys"), { fsync: false });
    const custodianKey = new Wallet(id("evaluation:gateway:custodian-key"));
    const patientKey = new Wallet(id("evaluation:gateway:patient-key"));
    const pipelineOptions = {
      updateLog: ledger.updateLog,
      registry: ledger.registry,
      vault: new RecordVault(blobs, keys),
      custodianKey,
      custodianSigner: roles.hospital,
      patientPublicKey: () => patientKey.signingKey.publicKey,
      indexFolder: join(dir, "pipeline"),
      batchPolicy: { maxReadings: 1024, maxAgeMs: 60 * 60_000 },
      fsync: false,
    };
    const pipeline = await TwinPipeline.open(pipelineOptions);
    const cohort = generateCohort({
      seed: options.cohortSeed,
      patients: 1,
      days: 1,
      intervalSeconds: options.readingIntervalSeconds,
    });
    const patient = cohort.patients[0];
    const ingestStart = performance.now();
    await pipeline.ingestEmr(twinId, patient.emr, { sourceSigner: roles.emr });
    await pipeline.ingestWearable(twinId, patient.wearable, { deviceSigner: roles.wearable });
    await pipeline.flush(twinId, { deviceSigner: roles.wearable });
    const ingestSeconds = (performance.now() - ingestStart) / 1000;
    // Where a query's time goes: the pipeline's read of the twin's readings alone (decrypting them).
    const readMs: number[] = [];
    let readingCount = 0;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      readingCount = (await pipeline.readings(twinId, {})).length;
      readMs.push(performance.now() - t0);
    }
    const recordCount = (await pipeline.records(twinId, ALL_CATEGORIES)).length;
    const dataSet = {
      records: recordCount,
      readings: readingCount,
      ingestSeconds,
      pipelineReadMs: summarize(readMs),
    };

    const reader = new Wallet(id("evaluation:gateway:reader"));
    const head = await provider.getBlock("latest");
    const t = head?.timestamp ?? Math.floor(Date.now() / 1000);
    await (
      await ledger.consent
        .connect(roles.patient)
        .grant(twinId, reader.address, ALL_CATEGORIES, Action.READ, Purpose.TREATMENT, t, t + 30 * 86_400)
    ).wait();

    gateway = createGateway({
      data: pipeline,
      consent: ledger.consent,
      registry: ledger.registry,
      chainId: 31337n,
      dbPath: join(dir, "access-log.sqlite"),
      host: "127.0.0.1",
      operator: roles.hospital.address,
      // One reader key drives the whole load: the per-signer limit (120 a minute by default) would answer 429.
      limits: { perSigner: false, perAddress: false },
    });
    const baseUrl = await gateway.listen();
    if (!baseUrl.startsWith("http://127.0.0.1:")) throw new Error(`the gateway listens on ${baseUrl}, not 127.0.0.1`);
    const load = async (concurrency: number, mode: LoadMode, url = baseUrl): Promise<LoadResult> => {
      const loadOptions: LoadOptions = {
        mode,
        baseUrl: url,
        rpcUrl: ctx.url,
        chainId: "31337",
        consentAddress: await ledger.consent.getAddress(),
        updateLogAddress: await ledger.updateLog.getAddress(),
        operator: roles.hospital.address,
        twinId,
        readerKey: reader.privateKey,
        concurrency,
        requests: options.requests,
        warmup: options.warmup,
        timeoutMs: options.timeoutMs,
      };
      const { stdout } = await execFileAsync(
        process.execPath,
        ["-r", "ts-node/register/transpile-only", join(__dirname, "gateway-load.ts"), JSON.stringify(loadOptions)],
        { cwd: root, timeout: options.timeoutMs + 120_000, maxBuffer: 16 * 1024 * 1024 },
      );
      const lines = stdout.trim().split("\n");
      return JSON.parse(lines[lines.length - 1]) as LoadResult;
    };

    const runOf = (concurrency: number, r: LoadResult): ConcurrencyRun => ({
      concurrency,
      requests: r.e2e.length + r.errors,
      ms: summarize(r.e2e),
      gatewayMs: summarize(r.http),
      throughputPerSecond: r.allowed / r.seconds,
      allowed: r.allowed,
      denied: r.denied,
      errors: r.errors,
      verified: r.verified,
    });
    const runs: ConcurrencyRun[] = [];
    const capacity: ConcurrencyRun[] = [];
    const skipped: string[] = [];
    for (const concurrency of options.concurrencies) {
      tick(`gateway: concurrency ${concurrency}, pre-signed load`);
      capacity.push(runOf(concurrency, await load(concurrency, "gateway")));
      // An end-to-end level whose queries could not all finish within the bound at the rate measured so far is
      // skipped and said so: each of its clients starts one query at once, and a started query is never abandoned.
      const last = runs[runs.length - 1];
      if (last && last.allowed > 0) {
        const estimateMs = (concurrency / last.throughputPerSecond) * 1000;
        if (estimateMs > options.timeoutMs) {
          skipped.push(
            `end-to-end concurrency ${concurrency} skipped: at the ${last.throughputPerSecond.toFixed(1)} queries/s ` +
              `measured at concurrency ${last.concurrency}, its first ${concurrency} queries alone would take about ` +
              `${(estimateMs / 1000).toFixed(0)} s, over this run's bound of ${(options.timeoutMs / 1000).toFixed(0)} s a level`,
          );
          continue;
        }
      }
      tick(`gateway: concurrency ${concurrency}, end to end`);
      runs.push(runOf(concurrency, await load(concurrency, "end-to-end")));
    }
    let autocannon: CapacityLevel[] | undefined;
    if (options.capacity !== undefined) {
      const client = new service.GatewayClient({
        baseUrl,
        signer: reader,
        chainId: 31337n,
        consentAddress: await ledger.consent.getAddress(),
        operator: roles.hospital.address,
      });
      autocannon = await measureCapacity({
        root,
        dir,
        gatewayUrl: baseUrl,
        concurrencies: options.capacity.concurrencies,
        requests: options.capacity.requests,
        timeoutMs: options.timeoutMs,
        sign: () => client.signQuery(twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT }),
        tick,
        ...(options.capacity.aroundGatewayRun !== undefined && { aroundGatewayRun: options.capacity.aroundGatewayRun }),
      });
    }
    let coldQuery: ColdQuery | undefined;
    if (options.coldRuns !== undefined && options.coldRuns > 0) {
      tick("gateway: the first query on a cold twin");
      let cold = 0;
      coldQuery = await measureColdQuery({
        runs: options.coldRuns,
        twinId,
        openPipeline: () => TwinPipeline.open(pipelineOptions),
        createGateway: (data) =>
          createGateway({
            data,
            consent: ledger.consent,
            registry: ledger.registry,
            chainId: 31337n,
            dbPath: join(dir, `access-log-cold-${cold++}.sqlite`),
            host: "127.0.0.1",
            operator: roles.hospital.address,
            limits: { perSigner: false, perAddress: false },
          }),
        sign: async (url, queried) =>
          new service.GatewayClient({
            baseUrl: url,
            signer: reader,
            chainId: 31337n,
            consentAddress: await ledger.consent.getAddress(),
            operator: roles.hospital.address,
          }).signQuery(queried, "latest-vitals", {}, { purpose: Purpose.TREATMENT }),
      });
    }
    let replicas: ReplicaCapacity | undefined;
    let replicasSqlite: ReplicaCapacity | undefined;
    if (options.replicas !== undefined) {
      const consentAddress = await ledger.consent.getAddress();
      const client = new service.GatewayClient({
        baseUrl,
        origin: REPLICA_ORIGIN,
        signer: reader,
        chainId: 31337n,
        consentAddress,
        operator: roles.hospital.address,
      });
      const { twins, sqlite, ...replicaOptions } = options.replicas;
      tick(`gateway replicas: ${twins ?? 1} twins on chain`);
      const twinIds = await enrolReplicaTwins(ctx, reader.address, twins ?? 1);
      const common = {
        root,
        dir,
        twinIds,
        timeoutMs: options.timeoutMs,
        config: {
          rpcUrl: ctx.url,
          chainId: 31337,
          consent: consentAddress,
          registry: await ledger.registry.getAddress(),
          operator: roles.hospital.address,
          origin: REPLICA_ORIGIN,
          twin: {
            twinId,
            ...pipeline.version(twinId),
            records: await pipeline.records(twinId, ALL_CATEGORIES),
            readings: await pipeline.readings(twinId, {}),
          },
        },
        sign: (twin: string) => client.signQuery(twin, "latest-vitals", {}, { purpose: Purpose.TREATMENT }),
        tick,
      };
      replicas = await measureReplicas({ ...common, ...replicaOptions });
      if (sqlite !== undefined) {
        replicasSqlite = await measureReplicas({
          ...common,
          ...sqlite,
          requests: replicaOptions.requests,
          cpuProfileDir: replicaOptions.cpuProfileDir,
          backend: "sqlite",
        });
      }
    }
    let rateLimits: RateLimitEffect | undefined;
    if (options.rateLimitConcurrency !== undefined) {
      const concurrency = options.rateLimitConcurrency;
      limited = createGateway({
        data: pipeline,
        consent: ledger.consent,
        registry: ledger.registry,
        chainId: 31337n,
        dbPath: join(dir, "access-log-limited.sqlite"),
        host: "127.0.0.1",
        operator: roles.hospital.address,
        limits: NEVER_HIT_LIMITS,
      });
      const limitedUrl = await limited.listen();
      const off: LoadResult[] = [];
      const on: LoadResult[] = [];
      for (let round = 0; round < RATE_LIMIT_ROUNDS; round++) {
        tick(`gateway: rate limits off, concurrency ${concurrency} (round ${round + 1})`);
        off.push(await load(concurrency, "gateway"));
        tick(`gateway: rate limits on, concurrency ${concurrency} (round ${round + 1})`);
        on.push(await load(concurrency, "gateway", limitedUrl));
      }
      const limitsOff = runOf(concurrency, mergeLoads(off));
      const limitsOn = runOf(concurrency, mergeLoads(on));
      rateLimits = {
        concurrency,
        limitsOff,
        limitsOn,
        ratio: limitsOn.throughputPerSecond / limitsOff.throughputPerSecond,
        limits:
          `per signer and per address, each ${NEVER_HIT_LIMITS.perSigner.max.toLocaleString("en-US")} a ` +
          `${NEVER_HIT_LIMITS.perSigner.windowMs / 1000}-s window (@fastify/rate-limit, never reached); ` +
          `${RATE_LIMIT_ROUNDS} rounds of ${options.requests} pre-signed queries each way, alternated (off, on, …), ` +
          "two gateways over the same pipeline",
      };
    }
    return {
      measured: true,
      reason: "",
      runs,
      capacity,
      dataSet,
      ...(rateLimits ? { rateLimits } : {}),
      ...(autocannon ? { autocannon } : {}),
      ...(replicas ? { replicas } : {}),
      ...(replicasSqlite ? { replicasSqlite } : {}),
      ...(coldQuery ? { coldQuery } : {}),
      description:
        "The custodian's TwinPipeline (src/pipeline) ingested one cohort patient over JSON-RPC (EMR records " +
        "anchored as one record batch with anchorRecords, a day of wearable readings in Merkle batches, the twin " +
        "version committed); " +
        "the gateway (src/service createGateway, Fastify on 127.0.0.1, access log in SQLite) serves it; the patient " +
        "granted the reader. The reader's load runs in its own Node process (src/evaluation/gateway-load.ts); the " +
        "machine's two cores are shared by the node, the gateway and the client. Each query is `latest-vitals` for " +
        "treatment, signed by the reader (EIP-712, a local key); the gateway checks the signature, freshness, replay " +
        "and the consent on chain at the head: for every query it fetches the head block (one eth_getBlockByNumber " +
        "shared only by the queries that arrived before it was sent) and takes ConsentPolicy.checkAccess's answer at " +
        "that block, asked of the node once per block and question (a new block, or a reorganized one, asks again). " +
        "It answers with proofs from the blobs it opened and checked once, and keeps each answer while the twin " +
        "does not change (src/service/answer-cache.ts: here every query after the first is answered from it, every " +
        "query still checked and logged). Two loads per concurrency: under load, the " +
        "queries are signed before the clock starts and only the POSTs are timed, the answers' proofs checked after; " +
        "end to end, each reader signs, POSTs and checks every proof against the chain as it goes (`HTTP only` is the " +
        "POST within that run). " +
        `The twin holds ${recordCount} EMR records and ${dataSet.readings} wearable readings (one day, a reading ` +
        `interval of ${options.readingIntervalSeconds} s at the finest); the pipeline's own read of those readings ` +
        `(pipeline.readings, no gateway) takes ${dataSet.pipelineReadMs.p50.toFixed(1)} ms (p50 of 3). Each ` +
        "concurrency level is bounded in time; the table gives how many queries ran." +
        (skipped.length ? ` ${skipped.join("; ")}.` : ""),
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { measured: false, reason: `the gateway run failed: ${message}`, runs: [], description: "" };
  } finally {
    if (gateway) await gateway.close();
    if (limited) await limited.close();
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

/** Several loads of one concurrency as one: the times pooled, the counts and the seconds summed. */
export function mergeLoads(results: readonly LoadResult[]): LoadResult {
  const [first, ...rest] = results;
  if (first === undefined) throw new Error("no load to merge");
  return rest.reduce<LoadResult>(
    (a, r) => ({
      ...a,
      e2e: [...a.e2e, ...r.e2e],
      http: [...a.http, ...r.http],
      allowed: a.allowed + r.allowed,
      denied: a.denied + r.denied,
      errors: a.errors + r.errors,
      verified: a.verified + r.verified,
      seconds: a.seconds + r.seconds,
    }),
    first,
  );
}
