/**
 * A custodian service as its own process, for the SIGKILL fault tests (faults-kill.test.ts): started with
 * `node -r ts-node/register/transpile-only faults-child.ts <config.json>`, it opens a pipeline over the given folders
 * and the parent's chain (a JSON-RPC endpoint on 127.0.0.1, whose accounts it sends from), ingests one EMR bundle and
 * kills itself with SIGKILL between storing the blobs and anchoring them: before the send (`kill: "stored"`), or once
 * the `anchorRecords` is mined but before the pipeline reads its receipt (`kill: "sent"`). Loaded by mocha as a test
 * file it does nothing.
 */
import { readFileSync } from "node:fs";
import { JsonRpcProvider } from "ethers";
import { TwinPipeline, type PendingAnchor } from "../../../src/pipeline";
import { TwinUpdateLog__factory } from "../../../typechain-types";
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
}

async function main(configPath: string): Promise<void> {
  const config = JSON.parse(readFileSync(configPath, "utf8")) as FaultsChildConfig;
  const provider = new JsonRpcProvider(config.rpcUrl, undefined, { staticNetwork: true, batchMaxCount: 1 });
  const source = await provider.getSigner(config.source);
  const updateLog = TwinUpdateLog__factory.connect(config.updateLog, provider);
  const stores = reopenFolders(config.root);
  const pipeline = await TwinPipeline.open({
    updateLog,
    vault: stores.vault,
    custodianKey: config.custodianKey,
    custodianSigner: await provider.getSigner(config.custodian),
    patientPublicKey: () => config.patientPublicKey,
    indexFolder: stores.indexFolder,
    fsync: true,
    beforeAnchor: async (pending: PendingAnchor) => {
      if (config.kill === "sent") {
        const log = updateLog.connect(source);
        await (await log.anchorRecords(config.twinId, pending.recordsRoot, pending.categories)).wait();
      }
      process.stdout.write(`${JSON.stringify({ killing: config.kill, records: pending.records.length })}\n`);
      process.kill(process.pid, "SIGKILL");
      await new Promise(() => undefined); // never returns: the process is gone
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
