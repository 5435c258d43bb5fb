import { expect } from "chai";
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { network } from "hardhat";
import { JsonRpcServer } from "hardhat/internal/hardhat-network/jsonrpc/server";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import { TwinPipeline } from "../../../src/pipeline";
import { twinFixture } from "../../fixtures";
import type { FaultsChildConfig } from "./faults-child";
import { countFiles, recordBatchesOnChain } from "./faults-doubles";
import { cohortSmall, newWallet, removeFolders, reopenFolders, serviceFolders, type ServiceFolders } from "./harness";

/** Run the child service until it kills itself; resolves with its exit signal and what it printed. */
function runChild(configPath: string): Promise<{ signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", join(__dirname, "faults-child.ts"), configPath],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the child did not finish: ${stderr}`));
    }, 90_000);
    child.once("exit", (_code, signal) => {
      clearTimeout(timer);
      resolve({ signal, stdout, stderr });
    });
  });
}

describe("pipeline/faults: the service killed (SIGKILL) between storing blobs and anchoring them", function () {
  this.timeout(180_000);
  let rpc: JsonRpcServer;
  let rpcUrl: string;
  let folders: ServiceFolders | undefined;
  const opened: TwinPipeline[] = [];

  before(async () => {
    rpc = new JsonRpcServer({ hostname: "127.0.0.1", port: 0, provider: network.provider });
    const { port } = await rpc.listen();
    rpcUrl = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await rpc?.close();
  });
  afterEach(async () => {
    for (const pipeline of opened.splice(0)) await pipeline.close();
    await removeFolders(folders);
  });

  async function killedAt(kill: FaultsChildConfig["kill"]) {
    const f = await loadFixture(twinFixture);
    folders = await serviceFolders();
    const custodianKey = newWallet();
    const patientKey = newWallet();
    const bundlePath = join(folders.root, "emr.json");
    await writeFile(bundlePath, JSON.stringify((await cohortSmall()).patients[0].emr));
    const config: FaultsChildConfig = {
      rpcUrl,
      updateLog: await f.updateLog.getAddress(),
      registry: await f.registry.getAddress(),
      root: folders.root,
      custodianKey: custodianKey.privateKey,
      patientPublicKey: patientKey.signingKey.publicKey,
      custodian: f.hospital.address,
      source: f.emr.address,
      twinId: f.twinId,
      bundlePath,
      kill,
    };
    const configPath = join(folders.root, "child.json");
    await writeFile(configPath, JSON.stringify(config));
    const run = await runChild(configPath);
    expect(run.signal, run.stderr).to.equal("SIGKILL");
    const printed = JSON.parse(run.stdout.trim()) as { killing: string; records: number };
    expect(printed.killing).to.equal(kill);
    const blobsLeft = await countFiles(join(folders.root, "blobs"));
    expect(blobsLeft).to.equal(printed.records); // stored, not indexed
    const stores = reopenFolders(folders.root);
    const restart = async () => {
      const pipeline = await TwinPipeline.open({
        updateLog: f.updateLog,
        vault: stores.vault,
        custodianKey,
        custodianSigner: f.hospital,
        patientPublicKey: () => patientKey.signingKey.publicKey,
        indexFolder: stores.indexFolder,
        fsync: false,
      });
      opened.push(pipeline);
      return pipeline;
    };
    return { f, folders, printed, restart, bundlePath };
  }

  it("killed before the send: the restart sweeps its blobs and keys; the retry anchors once", async () => {
    const {
      f,
      folders: { root },
      restart,
    } = await killedAt("stored");
    expect(await recordBatchesOnChain(f)).to.equal(0);
    const restarted = await restart();
    expect(restarted.twins()).to.deep.equal([]);
    expect(await countFiles(join(root, "blobs"))).to.equal(0);
    expect(await countFiles(join(root, "keys"))).to.equal(0);
    const emr = (await cohortSmall()).patients[0].emr;
    const done = await restarted.ingestEmr(f.twinId, emr, { sourceSigner: f.emr });
    expect(await recordBatchesOnChain(f)).to.equal(1);
    expect(await countFiles(join(root, "blobs"))).to.equal(done.records);
  });

  it("killed after the anchor was mined: the restart indexes and applies it; the retry sends nothing", async () => {
    const {
      f,
      folders: { root },
      printed,
      restart,
    } = await killedAt("sent");
    expect(await recordBatchesOnChain(f)).to.equal(1);
    const restarted = await restart();
    expect(restarted.holding(f.twinId)).to.equal("active");
    expect(restarted.version(f.twinId).version.version).to.equal(1);
    expect(restarted.version(f.twinId).anchor?.version).to.equal(1);
    expect(await restarted.records(f.twinId, 0xffffffff)).to.have.length(printed.records);
    const emr = (await cohortSmall()).patients[0].emr;
    const retry = await restarted.ingestEmr(f.twinId, emr, { sourceSigner: f.emr });
    expect(retry.records).to.equal(0);
    expect(retry.unchanged).to.equal(printed.records);
    expect(await recordBatchesOnChain(f)).to.equal(1);
    expect(await countFiles(join(root, "blobs"))).to.equal(printed.records);
  });
});
