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
import { countFiles, readingBatchesOnChain, recordBatchesOnChain } from "./faults-doubles";
import {
  cohortSmall,
  countBlobs,
  newWallet,
  removeFolders,
  reopenFolders,
  serviceFolders,
  type ServiceFolders,
} from "./harness";

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

  async function killedAt(kill: FaultsChildConfig["kill"], stream = false) {
    const f = await loadFixture(twinFixture);
    folders = await serviceFolders();
    const custodianKey = newWallet();
    const patientKey = newWallet();
    const bundlePath = join(folders.root, "emr.json");
    await writeFile(bundlePath, JSON.stringify((await cohortSmall()).patients[0].emr));
    const wearablePath = join(folders.root, "wearable.json");
    if (stream) await writeFile(wearablePath, JSON.stringify((await cohortSmall()).patients[1].wearable));
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
      ...(stream ? { wearablePath, device: f.wearable.address } : {}),
    };
    const configPath = join(folders.root, "child.json");
    await writeFile(configPath, JSON.stringify(config));
    const run = await runChild(configPath);
    expect(run.signal, run.stderr).to.equal("SIGKILL");
    const printed = JSON.parse(run.stdout.trim()) as { killing: string; records: number };
    expect(printed.killing).to.equal(kill);
    if (!stream) expect(await countBlobs(join(folders.root, "blobs"))).to.equal(printed.records); // stored, not indexed
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
    expect(await countBlobs(join(root, "blobs"))).to.equal(0);
    expect(await countFiles(join(root, "keys"))).to.equal(0);
    const emr = (await cohortSmall()).patients[0].emr;
    const done = await restarted.ingestEmr(f.twinId, emr, { sourceSigner: f.emr });
    expect(await recordBatchesOnChain(f)).to.equal(1);
    expect(await countBlobs(join(root, "blobs"))).to.equal(done.records);
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
    expect(await countBlobs(join(root, "blobs"))).to.equal(printed.records);
  });

  /** Every reading of the stream anchored once: the chain's batches are the twin's and hold all of them. */
  async function expectStreamAnchoredOnce(pipeline: TwinPipeline, f: Awaited<ReturnType<typeof killedAt>>["f"]) {
    const { batches } = pipeline.anchors(f.twinId);
    expect(await readingBatchesOnChain(f)).to.equal(batches.length);
    expect(batches.reduce((sum, b) => sum + b.count, 0)).to.equal(151);
    expect(pipeline.pendingReadings(f.twinId)).to.equal(0);
    expect((await pipeline.readings(f.twinId, {})).every((r) => r.anchor !== null)).to.equal(true);
  }

  it("a flush killed before any anchorBatch: the restart sweeps its batches, the readings stay pending", async () => {
    const killed = await killedAt("stored", true);
    const { f, restart } = killed;
    expect(await readingBatchesOnChain(f)).to.equal(0);
    expect(await countBlobs(join(killed.folders.root, "blobs"))).to.equal(1 + 3); // the intake and three batches
    const restarted = await restart();
    expect(restarted.pendingReadings(f.twinId)).to.equal(151);
    expect(restarted.anchors(f.twinId).batches).to.have.length(0);
    expect(await countBlobs(join(killed.folders.root, "blobs"))).to.equal(1); // one fresh intake
    await restarted.flush(f.twinId, { deviceSigner: f.wearable });
    await expectStreamAnchoredOnce(restarted, f);
  });

  it("a flush killed once its first anchorBatch was mined: the restart finds it by its journaled nonce", async () => {
    const killed = await killedAt("sent", true);
    const { f, restart } = killed;
    expect(await readingBatchesOnChain(f)).to.equal(1);
    const restarted = await restart();
    expect(restarted.anchors(f.twinId).batches.map((b) => b.count)).to.deep.equal([64]);
    expect(restarted.version(f.twinId).anchor?.version).to.equal(1);
    expect(restarted.pendingReadings(f.twinId)).to.equal(151 - 64);
    await restarted.flush(f.twinId, { deviceSigner: f.wearable });
    expect(await readingBatchesOnChain(f)).to.equal(restarted.anchors(f.twinId).batches.length);
    await expectStreamAnchoredOnce(restarted, f);
  });
});
