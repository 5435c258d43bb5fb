import type { PricedGas, PriceSetting } from "./cost";
import type { CapacityLevel } from "./gateway-capacity";
import type { ReplicaCapacity } from "./gateway-replicas";
import type { ColdQuery } from "./gateway-cold";
import type { Reference } from "./references";
import type { PredictiveResult } from "./predictive";
import type { ResearchBenchmarkResult } from "./research";
import type { ScaleOutPart } from "./scale-out";
import type { Summary } from "./stats";

/** Everything one `npm run evaluate` measured; evaluation.json is this object. */
export interface EvaluationResult {
  readonly meta: RunMeta;
  readonly prices: readonly PriceSetting[];
  readonly references: readonly Reference[];
  readonly gas: GasPart;
  readonly storage: StoragePart;
  readonly timing: TimingPart;
  readonly network: NetworkPart;
  readonly scaling: ScalingPart;
  /** FHIR ingest at size (issue 11, defect 8); absent in results from before it was measured. */
  readonly fhirAtSize?: FhirAtSize;
  /** Padding's storage cost (issue 10, item 2); absent in results from before it was measured. */
  readonly padding?: PaddingCost;
  /** Many twins through the pipeline and the projection to 1,000,000 patients (issue 12); absent before it. */
  readonly scaleOut?: ScaleOutPart;
  /** Cohort queries at size (issue 15); absent before it was measured. */
  readonly research?: ResearchBenchmarkResult;
  /** Predictive care: forecast alerts against measured alerts, NEWS2 + forecast timing (issue 15). */
  readonly predictive?: PredictiveResult;
  readonly targets: readonly TargetVerdict[];
  /** The gas figures above priced in each setting (ETH and USD), for machines; the report shows the same. */
  readonly costs: Costs;
  readonly charts: readonly ChartFile[];
  /** Caveats that apply to the whole run (quick mode, extrapolations, what was not measured). */
  readonly notes: readonly string[];
}

export type Mode = "quick" | "full";

export interface Costs {
  readonly deployments: readonly {
    readonly contract: string;
    readonly gas: number;
    readonly priced: readonly PricedGas[];
  }[];
  readonly functions: readonly {
    readonly function: string;
    readonly avgGas: number;
    readonly typicalGas: number | null;
    readonly priced: readonly PricedGas[];
  }[];
  readonly storage: readonly {
    readonly design: string;
    readonly perPatientDay: readonly PricedGas[];
    readonly per1000Readings: readonly PricedGas[];
  }[];
  readonly paperDeployment: readonly PricedGas[];
}

export interface RunMeta {
  readonly generatedAt: string;
  readonly mode: Mode;
  readonly durationSeconds: number;
  readonly node: string;
  readonly platform: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly hardhatVersion: string;
  readonly solcVersion: string;
  readonly optimizer: string;
  readonly evmVersion: string;
  readonly seed: number;
  /** The git commit measured, and whether contracts/ had uncommitted changes (then the gas is of those). */
  readonly commit: string;
  readonly contractsDirty: boolean;
}

export interface ChartFile {
  readonly file: string;
  readonly title: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Part 1: execution cost
// ---------------------------------------------------------------------------------------------------------------

/** Which path a measured call took. */
export type CallPath = "first-time" | "typical";

/** min / avg / max gas of one function over the calls the evaluation made. */
export interface FunctionGas {
  readonly contract: string;
  readonly method: string;
  readonly calls: number;
  readonly min: number;
  readonly avg: number;
  readonly max: number;
  /** Mean gas of the first-time calls (new storage slots), if any were made. */
  readonly firstTime: number | null;
  /** Mean gas of the typical calls (slots already written), if any were made. */
  readonly typical: number | null;
  /** Mean wall-clock milliseconds per transaction (send and receipt) on the in-process network. */
  readonly msPerTx: number;
}

/** A view's execution gas: eth_estimateGas minus the 21,000 base and the calldata cost. */
export interface ViewGas {
  readonly contract: string;
  readonly method: string;
  readonly case: string;
  readonly executionGas: number;
}

export interface DeploymentGas {
  readonly contract: string;
  readonly gas: number;
  readonly runtimeBytes: number;
}

/** One method from reports/gas-report.json (hardhat-gas-reporter over the test suite). */
export interface GasReportMethod {
  readonly contract: string;
  readonly method: string;
  readonly min: number | null;
  readonly max: number | null;
  readonly avg: number | null;
  readonly calls: number;
}

export interface GasPart {
  readonly functions: readonly FunctionGas[];
  readonly views: readonly ViewGas[];
  readonly deployments: readonly DeploymentGas[];
  /** From reports/gas-report.json when it exists; null otherwise. */
  readonly gasReport: { readonly file: string; readonly methods: readonly GasReportMethod[] } | null;
}

// ---------------------------------------------------------------------------------------------------------------
// Part 2: storage cost
// ---------------------------------------------------------------------------------------------------------------

export interface CohortFacts {
  readonly seed: number;
  readonly patients: number;
  readonly days: number;
  readonly intervalSeconds: number;
  readonly emrRecords: number;
  readonly readings: number;
  readonly patientDays: number;
  /** Sizes of the sealed envelopes (bytes). */
  readonly recordEnvelopeBytes: Summary;
  readonly readingEnvelopeBytes: Summary;
  readonly totalEnvelopeBytes: number;
}

/** One way of storing the cohort. */
export interface StorageDesign {
  readonly id: "all-on-chain" | "anchor-per-record" | "merkle-batches";
  readonly title: string;
  /** Total gas for the cohort (EMR records and wearable readings). */
  readonly totalGas: number;
  readonly gasPerPatientDay: number;
  /** Gas per 1,000 wearable readings (readings only, EMR records left out). */
  readonly gasPer1000Readings: number;
  /** Transactions actually sent for this design, and how many the totals stand for. */
  readonly measuredTransactions: number;
  readonly representedTransactions: number;
  /** How the total was obtained: measured in full, or measured on a sample and extrapolated. */
  readonly method: string;
}

export interface BatchPoint {
  readonly batchSize: number;
  readonly anchorGas: number;
  readonly gasPerReading: number;
  readonly proofLength: number;
  /** verifyReading execution gas for one reading of the batch. */
  readonly verifyGas: number;
  readonly treeBuildMs: number;
  /** Wall-clock ms of the anchorBatch transaction (in process). */
  readonly anchorMs: number;
}

/** One EMR bundle size: one anchorRecords (v2) against one recordUpdate per record (v1's ingest). */
export interface RecordBatchPoint {
  readonly records: number;
  /** Gas of the one anchorRecords transaction. */
  readonly anchorRecordsGas: number;
  /** Gas of `records` recordUpdate transactions: sent and summed, or extrapolated from their mean (see below). */
  readonly recordUpdatesGas: number;
  /** True when every recordUpdate was sent; false when extrapolated from the mean of those sent at smaller sizes. */
  readonly recordUpdatesMeasured: boolean;
  /** recordUpdatesGas / anchorRecordsGas. */
  readonly ratio: number;
  /** Hashes in one record's proof, and verifyRecord's execution gas for it. */
  readonly proofLength: number;
  readonly verifyGas: number;
  /** Building the record tree off chain (ms). */
  readonly treeBuildMs: number;
}

export interface StoragePart {
  readonly cohort: CohortFacts;
  readonly designs: readonly StorageDesign[];
  /** Linear fit of the all-on-chain gas against the envelope length, from the sample. */
  readonly onChainFit: { readonly intercept: number; readonly gasPerByte: number; readonly samples: number };
  readonly batchCurve: readonly BatchPoint[];
  /** Per-record gas over EMR bundle sizes (v2 record batches). */
  readonly recordCurve: readonly RecordBatchPoint[];
  /** Gas of each cohort patient's EMR bundle anchored with anchorRecords. */
  readonly cohortBundleGas: readonly number[];
  /** Per-reading gas ratios at 1,000 readings (all-on-chain over the other two). */
  readonly ratios: {
    readonly allOnChainOverAnchorPerRecord: number;
    readonly allOnChainOverMerkle1000: number;
    readonly anchorPerRecordOverMerkle1000: number;
  };
  /** How readings were grouped into batches for the cohort totals. */
  readonly batchPolicy: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Part 3: execution time
// ---------------------------------------------------------------------------------------------------------------

export interface TimedOperation {
  readonly id: string;
  readonly what: string;
  readonly warmup: number;
  readonly ms: Summary;
  /** A paper figure set next to it, if any. */
  readonly paper?: { readonly what: string; readonly ms: number };
}

export interface TimingPart {
  readonly offChain: readonly TimedOperation[];
  /** Contract calls on the in-process Hardhat network (ms per transaction, send and receipt). */
  readonly contractCalls: readonly TimedOperation[];
}

// ---------------------------------------------------------------------------------------------------------------
// Part 4: network latency
// ---------------------------------------------------------------------------------------------------------------

export interface ConcurrencyRun {
  readonly concurrency: number;
  readonly requests: number;
  /** End to end: sign, POST over HTTP (consent checked by the gateway), answer, proof check. */
  readonly ms: Summary;
  /** The HTTP round trip alone (the gateway's work, its on-chain consent check included). */
  readonly gatewayMs: Summary;
  /** Allowed answers per second of the run's wall-clock time. */
  readonly throughputPerSecond: number;
  readonly allowed: number;
  readonly denied: number;
  readonly errors: number;
  /** Allowed answers whose every proof verified against the chain. */
  readonly verified: number;
}

export interface IntervalExperiment {
  readonly requests: number;
  readonly blockSeconds: number;
  readonly endToEndSeconds: number;
  readonly perRequestSeconds: number;
  readonly blocks: number;
  readonly confirmed: number;
  /** Requests whose effect was checked on chain afterwards (isAuthorized true for the grantee). */
  readonly checked: number;
  readonly confirmationMs: Summary;
  readonly speedupOverPaper: number;
  readonly description: string;
}

export interface NetworkPart {
  readonly measured: boolean;
  readonly endpoint: string;
  readonly startupSeconds: number;
  /** Automine: send to receipt, one transaction at a time. */
  readonly confirmation: readonly TimedOperation[];
  /** A view (isAuthorized) over JSON-RPC. */
  readonly rpcCall: TimedOperation | null;
  readonly intervalExperiment: IntervalExperiment | null;
  readonly gateway: {
    readonly measured: boolean;
    readonly reason: string;
    /** End to end, as a reader runs each query: sign → POST → answer → every proof checked. */
    readonly runs: readonly ConcurrencyRun[];
    /**
     * The gateway's capacity: queries signed before the clock starts, only the POSTs timed (`ms` is the HTTP round
     * trip), every answer's proofs checked after the clock stops.
     */
    readonly capacity?: readonly ConcurrencyRun[];
    readonly description: string;
    /** What the pipeline held for the queried twin, and how long its read of the readings took alone. */
    readonly dataSet?: {
      readonly records: number;
      readonly readings: number;
      readonly ingestSeconds: number;
      readonly pipelineReadMs: Summary;
    };
    /** Allowed queries/s with the rate limits off and on (never hit), in the same run (issue 10, item 7). */
    readonly rateLimits?: RateLimitEffect;
    /** The gateway and a bare fastify handler under autocannon, pre-signed queries, per concurrency (issue 12). */
    readonly autocannon?: readonly CapacityLevel[];
    /** N gateway processes sharing one PostgreSQL under autocannon, against N bare fastify processes (issue 12). */
    readonly replicas?: ReplicaCapacity;
    /** The same with the processes sharing one SQLite file (processes of one machine) (issue 12). */
    readonly replicasSqlite?: ReplicaCapacity;
    /** The first query on a cold twin: a fresh pipeline and gateway, one signed query timed (issue 12). */
    readonly coldQuery?: ColdQuery;
  };
  readonly error?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Part 5: scaling
// ---------------------------------------------------------------------------------------------------------------

export interface ScalingPoint {
  readonly n: number;
  /** Gas of the next write at this size (e.g. the n-th createTwin). */
  readonly writeGas: number;
  /** Execution gas of the consent or proof view at this size. */
  readonly viewGas: number;
  /** Mean ms of the view (eth_call, in process) at this size. */
  readonly viewMs: number;
  /** Mean ms of the write transaction at this size. */
  readonly writeMs: number;
  /** Off-chain work that grows with the size (e.g. building the Merkle tree), ms; absent where there is none. */
  readonly offChainMs?: number;
}

export interface ScalingSeries {
  readonly id: "twins" | "grants-per-twin" | "readings-per-batch";
  readonly title: string;
  readonly write: string;
  readonly view: string;
  readonly points: readonly ScalingPoint[];
  readonly finding: string;
}

export interface ScalingPart {
  readonly series: readonly ScalingSeries[];
}

// ---------------------------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------------------------

/** "quick mode: not judged": measured, but at a size other than the target's (quick mode). */
export type Verdict = "met" | "missed" | "not measured" | "quick mode: not judged";

export interface TargetVerdict {
  readonly id: string;
  readonly target: string;
  readonly measured: string;
  readonly verdict: Verdict;
}

// ---------------------------------------------------------------------------------------------------------------
// Privacy costs and size (issues 10 and 11)
// ---------------------------------------------------------------------------------------------------------------

/** One measured run of the FHIR size benchmark, in its own process. */
export interface FhirPipelineRun {
  readonly records: number;
  readonly readings: number;
  /** The bundle's JSON text, bytes. */
  readonly inputBytes: number;
  readonly seconds: number;
  /** CPU time of the process (user and system) while it ran, in seconds. */
  readonly cpuSeconds: number;
  /** The process's peak RSS (the kernel's high-water mark), MB: set-up (and Hardhat, for the pipeline) included. */
  readonly peakRssMb: number;
  /** RSS just before the measured call (everything set up, the input made), MB. */
  readonly rssBeforeMb: number;
  /** Gas of the one anchorRecords (pipeline only). */
  readonly anchorGas: number | null;
  /**
   * The machine's 1-minute load average when the measured call started (`os.loadavg()[0]`): on the shared 2-core
   * machine, how many runnable processes the run competed with. Absent in results of older evaluations.
   */
  readonly loadAverage?: number;
  /** A figure recorded earlier (`FHIR_BEFORE`), not measured by this evaluation: what it is, in words. */
  readonly recorded?: string;
  /** Where the pipeline's chain ran (pipeline runs only): over JSON-RPC to a node in its own process, or in-process. */
  readonly chain?: FhirChain;
  /** How the measured process ran: compiled JavaScript (esbuild bundle) or TypeScript through ts-node (older: absent). */
  readonly runtime?: "compiled" | "ts-node";
  /** The V8 old-space budget the process ran with (`--max-old-space-size`), MB; absent: V8's default. */
  readonly heapLimitMb?: number;
  /** Whether the measured process had loaded Hardhat's runtime (it must not, over JSON-RPC). */
  readonly hardhatLoaded?: boolean;
  /** Where the measured call's wall time went, in the order the pipeline runs (fhir-phases.ts); they add up to it. */
  readonly phases?: readonly FhirPhase[];
  /** Garbage-collector pauses during the measured call (perf_hooks 'gc' entries): seconds summed, and how many. */
  readonly gcSeconds?: number;
  readonly gcCount?: number;
  /** Seconds spent inside blob and key store writes, summed over overlapping writes (part of seal + store). */
  readonly storeBusySeconds?: number;
}

/** Where a FHIR-at-size pipeline run's chain ran. */
export type FhirChain = "anvil" | "hardhat node" | "in-process";

/** A phase of the FHIR-at-size pipeline run (fhir-phases.ts `FHIR_PHASES`). */
export type FhirPhaseId = "parse" | "seal" | "anchor" | "proofs" | "engine" | "commit";

export interface FhirPhase {
  readonly id: FhirPhaseId;
  readonly seconds: number;
}

/** The node the judged pipeline run talked to over JSON-RPC, in its own process (not counted in the run's RSS). */
export interface FhirNode {
  readonly kind: "anvil" | "hardhat node";
  /** Seconds from spawn until it answered. */
  readonly startupSeconds: number;
  /** Its peak RSS (VmHWM of /proc/<pid>/status, summed over its process group) when the run ended, MB. */
  readonly peakRssMb: number | null;
}

/** FHIR ingest at size (issue 11, defect 8): N vital-sign Observations, the ingest alone and the whole pipeline. */
export interface FhirAtSize {
  readonly measured: boolean;
  readonly reason: string;
  readonly observations: number;
  /** False in quick mode (fewer Observations than the target's): the verdict is then not judged. */
  readonly judged: boolean;
  /** The streamed parse and checks alone (src/fhir ingestStream). */
  readonly ingest: FhirPipelineRun | null;
  /**
   * TwinPipeline.ingestEmr, the judged run: over JSON-RPC to `node` (older results: on the in-process Hardhat
   * network, `chain` absent).
   */
  readonly pipeline: FhirPipelineRun | null;
  /** The node of the judged run (absent in older results). */
  readonly node?: FhirNode | null;
  /**
   * The judged run again over JSON-RPC with V8's default heap (no `--max-old-space-size`), for comparison: what the
   * same code peaks at when the garbage collector may let the heap grow (never judged; absent in older results).
   */
  readonly defaultHeap?: FhirPipelineRun | null;
  /** The same pipeline run on Hardhat's in-process network, for comparison (never judged; absent in older results). */
  readonly inProcess?: FhirPipelineRun | null;
  /** Why the in-process comparison is missing, when it failed. */
  readonly inProcessReason?: string;
}

/** Bytes before and after padding, for one kind of blob plaintext. */
export interface PaddingRow {
  readonly what: string;
  /** Blobs counted. */
  readonly blobs: number;
  readonly plainBytes: number;
  readonly paddedBytes: number;
  /** paddedBytes / plainBytes. */
  readonly ratio: number;
}

/** Padding's storage cost over the evaluation's cohort (issue 10, item 2). */
export interface PaddingCost {
  readonly records: PaddingRow;
  /** Reading batches at the default policy, per stream (one twin's wearable readings) per day. */
  readonly batchesPerStreamDay: PaddingRow;
  /** What the batch figures assume (policy, fixed size, streams and days counted). */
  readonly batchPolicy: string;
}

/** The gateway's allowed queries/s at one concurrency with the rate limits off and on (never hit). */
export interface RateLimitEffect {
  readonly concurrency: number;
  readonly limitsOff: ConcurrencyRun;
  readonly limitsOn: ConcurrencyRun;
  /** limitsOn / limitsOff throughput. */
  readonly ratio: number;
  /** The limits of the "on" run. */
  readonly limits: string;
}
