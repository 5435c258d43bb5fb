import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { JsonRpcProvider, Wallet, id, type Signer } from "ethers";
import { deployTwinLedger } from "../chain/deploy";
import { twinIdOf } from "../chain/twin-id";
import { FolderKeyStore, LocalFolderBlobStore, RecordVault } from "../store";
import { TwinPipeline } from "../pipeline";
import { TwinEngine } from "../twin";
import { ALL_CATEGORIES, SourceKind } from "../vocabulary";
import type { TwinRegistry, TwinUpdateLog } from "../../typechain-types";
import { BENCHMARK_PATIENT_ID, bundleChunks } from "./fhir-ingest";
import { PhaseProbe, timedMethods } from "./fhir-phases";
import type { FhirChain, FhirPipelineRun } from "./types";
import { processPeakRssMb } from "./node-process";

/**
 * The measured child's side of the FHIR-at-size pipeline run (fhir-pipeline.ts starts it): the ledger set up on a
 * chain, then one `TwinPipeline.ingestEmr` of the generated bundle, timed whole and by phase (fhir-phases.ts).
 * Over JSON-RPC (`rpcLedger`) the child loads ethers, the typechain factories and the pipeline, never Hardhat's
 * runtime; on the in-process network (`inProcessLedger`) it carries Hardhat and its chain, as the comparison row.
 */

const MB = 2 ** 20;

/** What the run needs of a chain: the deployed contracts, the signers of each role, and a hook on its transport. */
export interface FhirLedger {
  readonly chain: FhirChain;
  readonly registry: TwinRegistry;
  readonly updateLog: TwinUpdateLog;
  readonly hospital: Signer;
  readonly emr: Signer;
  readonly patient: Signer;
  /** Calls `answered` after each JSON-RPC request the pipeline makes is answered. */
  observe(answered: (method: string, params: readonly unknown[], result: unknown) => void): void;
  close(): void;
}

/** Whether this process has loaded Hardhat's runtime. */
export function hardhatLoaded(): boolean {
  return Object.keys(require.cache).some((path) => /[\\/]node_modules[\\/]hardhat[\\/]/.test(path));
}

/**
 * TwinLedger deployed with the typechain factories over an ethers JsonRpcProvider on a node at `url` (127.0.0.1
 * only), with its unlocked accounts in Hardhat's roles (0 admin, 1 hospital, 3 EMR, 9 patient). The provider does
 * not cache calls (`cacheTimeout: -1`: ethers would answer a repeated view from its 250 ms cache, e.g. the commit's
 * `twinStateOf`) and polls every 20 ms (the node automines: a receipt is there on the first poll).
 */
export async function rpcLedger(url: string, chain: FhirChain): Promise<FhirLedger> {
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(url)) throw new Error(`the benchmark only talks to 127.0.0.1, not ${url}`);
  const provider = new JsonRpcProvider(
    url,
    { chainId: 31337, name: "local" },
    { staticNetwork: true, cacheTimeout: -1, pollingInterval: 20, batchMaxCount: 1 },
  );
  const signers = await provider.listAccounts();
  if (signers.length < 10) throw new Error(`the node has ${signers.length} unlocked accounts, 10 needed`);
  const [admin, hospital, , emr] = signers;
  const patient = signers[9];
  const { registry, updateLog } = await deployTwinLedger({ deployer: admin, governance: [admin.address] });
  await (await registry.grantRole(await registry.CUSTODIAN_ROLE(), hospital.address)).wait();
  const send = provider.send.bind(provider);
  let answered: (method: string, params: readonly unknown[], result: unknown) => void = () => undefined;
  provider.send = async (method: string, params: unknown[] | Record<string, unknown>) => {
    const result: unknown = await send(method, params);
    answered(method, Array.isArray(params) ? params : [], result);
    return result;
  };
  return {
    chain,
    registry,
    updateLog,
    hospital,
    emr,
    patient,
    observe: (callback) => (answered = callback),
    close: () => provider.destroy(),
  };
}

/** TwinLedger on Hardhat's in-process network (loads Hardhat's runtime: the comparison row only). */
export async function inProcessLedger(): Promise<FhirLedger> {
  const hre = (await import("hardhat")).default;
  const { setUpLedger } = await import("./chain");
  const network = hre.network.provider;
  const ledger = await setUpLedger({
    signers: await hre.ethers.getSigners(),
    provider: hre.ethers.provider,
    send: (method: string, params: unknown[]) => network.send(method, params),
  });
  let answered: (method: string, params: readonly unknown[], result: unknown) => void = () => undefined;
  const send = network.send.bind(network);
  const request = network.request.bind(network);
  network.send = async (method: string, params?: unknown[]) => {
    const result: unknown = await send(method, params);
    answered(method, params ?? [], result);
    return result;
  };
  network.request = async (args) => {
    const result: unknown = await request(args);
    answered(args.method, Array.isArray(args.params) ? (args.params as unknown[]) : [], result);
    return result;
  };
  return {
    chain: "in-process",
    registry: ledger.registry,
    updateLog: ledger.updateLog,
    hospital: ledger.actors.hospital,
    emr: ledger.actors.emr,
    patient: ledger.actors.patients[0],
    observe: (callback) => (answered = callback),
    close: () => undefined,
  };
}

/** Times the twin engine's `apply` (the benchmark's own process only; undone by the returned function). */
function timeEngine(probe: PhaseProbe): () => void {
  const apply = Object.getOwnPropertyDescriptor(TwinEngine.prototype, "apply");
  const original = TwinEngine.prototype.apply;
  TwinEngine.prototype.apply = function timedApply(this: TwinEngine, ...args: Parameters<TwinEngine["apply"]>) {
    probe.engine("start");
    try {
      return original.apply(this, args);
    } finally {
      probe.engine("end");
    }
  };
  return () => {
    if (apply) Object.defineProperty(TwinEngine.prototype, "apply", apply);
  };
}

/** One twin with the EMR authorized, then `count` Observations through `ingestEmr`, timed whole and by phase. */
export async function pipelineRun(ledger: FhirLedger, count: number): Promise<FhirPipelineRun> {
  const { registry, updateLog, patient } = ledger;
  const salt = id("evaluation:fhir-at-size:twin");
  const twinId = twinIdOf(await patient.getAddress(), salt);
  const hospital = await ledger.hospital.getAddress();
  await (await registry.connect(patient).createTwin(salt, id("meta:fhir-at-size"), hospital)).wait();
  const emr = await ledger.emr.getAddress();
  await (await registry.connect(patient).authorizeSource(twinId, emr, SourceKind.Emr, ALL_CATEGORIES)).wait();

  const probe = new PhaseProbe();
  const dir = mkdtempSync(join(tmpdir(), "twinledger-evaluation-fhir-"));
  const untimeEngine = timeEngine(probe);
  try {
    const store = (_phase: "start" | "end", ms: number) => probe.storeBusy(ms);
    const vault = new RecordVault(
      timedMethods(new LocalFolderBlobStore(join(dir, "blobs"), { fsync: false }), ["put", "putMany"], store),
      timedMethods(new FolderKeyStore(join(dir, "keys"), { fsync: false }), ["put", "putMany"], store),
    );
    const patientKey = new Wallet(id("evaluation:fhir-at-size:patient-key"));
    const pipeline = await TwinPipeline.open({
      updateLog,
      registry,
      vault: timedMethods(vault, ["put", "putMany"], (phase) =>
        phase === "start" ? probe.sealStarted() : probe.sealFinished(),
      ),
      custodianKey: new Wallet(id("evaluation:fhir-at-size:custodian-key")),
      custodianSigner: ledger.hospital,
      patientPublicKey: () => patientKey.signingKey.publicKey,
      indexFolder: join(dir, "pipeline"),
      fsync: false,
    });
    ledger.observe((method, params, result) => probe.rpcAnswered(method, params, result));
    // The input as the pipeline takes it (JSON text), made before the clock starts.
    const text = [...bundleChunks(count, BENCHMARK_PATIENT_ID)].join("");
    const inputBytes = Buffer.byteLength(text, "utf8");
    global.gc?.();
    const rssBeforeMb = process.memoryUsage().rss / MB;
    const loadAverage = loadavg()[0];
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    probe.start();
    const summary = await pipeline.ingestEmr(twinId, text, {
      sourceSigner: ledger.emr,
      patient: `Patient/${BENCHMARK_PATIENT_ID}`,
    });
    const probed = probe.stop();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const used = process.cpuUsage(cpu);
    return {
      records: summary.records,
      readings: summary.readings,
      inputBytes,
      seconds,
      cpuSeconds: (used.user + used.system) / 1e6,
      peakRssMb: processPeakRssMb(),
      rssBeforeMb,
      anchorGas: Number(summary.anchorGasUsed),
      loadAverage,
      chain: ledger.chain,
      hardhatLoaded: hardhatLoaded(),
      ...probed,
    };
  } finally {
    untimeEngine();
    ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
