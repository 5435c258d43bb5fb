/**
 * A custodian service as its own process, for the SIGKILL fault tests (faults-kill.test.ts): started with
 * `node -r ts-node/register/transpile-only faults-child.ts <config.json>`, it opens a pipeline over the given folders
 * and the parent's chain (a JSON-RPC endpoint on 127.0.0.1, whose accounts it sends from), ingests one EMR bundle and
 * kills itself with SIGKILL between storing the blobs and anchoring them: before the send (`kill: "stored"`), or once
 * the `anchorRecords` is mined but before the pipeline reads its receipt (`kill: "sent"`). With `wearablePath`, it
 * receives a wearable stream instead and flushes it, killed before any `anchorBatch` (`"stored"`) or once the
 * pipeline's own first `anchorBatch` is mined, before its answer comes back (`"sent"`: its nonce is journaled, its hash
 * not). Loaded by mocha as a test file it does nothing.
 */
import { readFileSync } from "node:fs";
import { JsonRpcProvider, type Signer, type TransactionRequest, type TransactionResponse } from "ethers";
import { TwinPipeline, type PendingAnchor, type PendingBatches, type TwinPipelineOptions } from "../../../src/pipeline";
import { TwinUpdateLog__factory } from "../../../typechain-types";
import { DelegatingSigner } from "./delegating-signer";
import { reopenFolders } from "./harness";

/** What the parent hands the child. */
export interface FaultsChildConfig {
  readonly rpcUrl: string;
  readonly updateLog: string;
  readonly registry: string;
  readonly root: string;
  readonly custodianKey: string;
  readonly patientPublicKey: string;
  readonly custodian: string;
  readonly source: string;
  readonly twinId: string;
  /** The EMR bundle, as JSON text. */
  readonly bundlePath: string;
  readonly kill: "stored" | "sent";
  /** A wearable stream (JSON text) to receive and flush from `device`, instead of the EMR ingest. */
  readonly wearablePath?: string;
  readonly device?: string;
}

function killNow(what: Record<string, unknown>): Promise<never> {
  process.stdout.write(`${JSON.stringify(what)}\n`);
  process.kill(process.pid, "SIGKILL");
  return new Promise(() => undefined); // never returns: the process is gone
}

/** Receive the stream and flush it, killed as `config.kill` says. */
async function flushKilled(config: FaultsChildConfig, provider: JsonRpcProvider, open: Opener): Promise<void> {
  const device = await provider.getSigner(config.device);
  const killing = new KillingSigner(device, config.kill === "sent");
  const pipeline = await open({
    batchPolicy: { mode: "cadence", maxReadings: 64, maxAgeMs: 60 * 60_000 },
    clock: () => Date.UTC(2024, 0, 2),
    beforeBatchAnchor: async (pending: PendingBatches) => {
      if (config.kill === "stored") await killNow({ killing: config.kill, batches: pending.batches.length });
    },
  });
  await pipeline.ingestWearable(config.twinId, readFileSync(config.wearablePath as string, "utf8"), {
    deviceSigner: device,
  });
  await pipeline.flush(config.twinId, { deviceSigner: killing });
}

type Opener = (extra: Partial<TwinPipelineOptions>) => Promise<TwinPipeline>;

/** A signer whose first transaction is sent and mined, then the process dies before the answer is returned. */
class KillingSigner extends DelegatingSigner {
  constructor(
    inner: Signer,
    readonly kill: boolean,
  ) {
    super(inner);
  }
  connect(): KillingSigner {
    return this;
  }
  override async sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    const response = await this.inner.sendTransaction(tx);
    if (!this.kill) return response;
    await response.wait();
    return killNow({ killing: "sent", nonce: response.nonce });
  }
}

async function main(configPath: string): Promise<void> {
  const config = JSON.parse(readFileSync(configPath, "utf8")) as FaultsChildConfig;
  const provider = new JsonRpcProvider(config.rpcUrl, undefined, { staticNetwork: true, batchMaxCount: 1 });
  const source = await provider.getSigner(config.source);
  const updateLog = TwinUpdateLog__factory.connect(config.updateLog, provider);
  const stores = reopenFolders(config.root);
  const open: Opener = async (extra) =>
    TwinPipeline.open({
      updateLog,
      vault: stores.vault,
      custodianKey: config.custodianKey,
      custodianSigner: await provider.getSigner(config.custodian),
      patientPublicKey: () => config.patientPublicKey,
      indexFolder: stores.indexFolder,
      fsync: true,
      ...extra,
    });
  if (config.wearablePath !== undefined) {
    await flushKilled(config, provider, open);
    process.stderr.write("the flush finished: the kill did not happen\n");
    process.exit(3);
  }
  const pipeline = await open({
    beforeAnchor: async (pending: PendingAnchor) => {
      if (config.kill === "sent") {
        const log = updateLog.connect(source);
        await (await log.anchorRecords(config.twinId, pending.recordsRoot, pending.categories)).wait();
      }
      await killNow({ killing: config.kill, records: pending.records.length });
    },
  });
  await pipeline.ingestEmr(config.twinId, readFileSync(config.bundlePath, "utf8"), { sourceSigner: source });
  process.stderr.write("the ingest finished: the kill hook did not run\n");
  process.exit(3);
}

if (require.main === module) {
  main(process.argv[2]).catch((error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(2);
  });
}
