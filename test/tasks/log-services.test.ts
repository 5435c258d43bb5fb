import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import path from "node:path";
import hre from "hardhat";
import { Wallet } from "ethers";
import {
  batchAnchorOf,
  buildReadingTree,
  buildRecordTree,
  proveReading,
  proveRecord,
  recordsAnchorOf,
} from "../../src/chain/anchors";
import { deployResearch } from "../../src/chain/deploy-research";
import { GatewayClient } from "../../src/service";
import { DataCategory } from "../../src/vocabulary";
import { requestShutdown } from "../../tasks/lib/shutdown";
import { CUSTODIAN_KEY_ENV } from "../../tasks/services";
import { indexOf, runTask, startTask, taskError, taskFixture, tempDir } from "./helpers";

const CID = "0x01551220" + "ab".repeat(32);

async function anchoredFixture() {
  const f = await taskFixture();
  const records = [
    { category: DataCategory.VITALS, contentHash: hre.ethers.id("record 1"), cid: CID },
    { category: DataCategory.LABS, contentHash: hre.ethers.id("record 2"), cid: CID.replace(/ab$/, "cd") },
  ];
  const recordTree = buildRecordTree(records);
  const { recordsRoot, categories } = recordsAnchorOf(recordTree);
  await f.updateLog.connect(f.emr).anchorRecords(f.twinId, recordsRoot, categories);
  const readings = [
    { readingHash: hre.ethers.id("reading 1"), timestamp: 1_700_000_000 },
    { readingHash: hre.ethers.id("reading 2"), timestamp: 1_700_000_060 },
  ];
  const readingTree = buildReadingTree(readings);
  const { merkleRoot } = batchAnchorOf(readingTree);
  await f.updateLog.connect(f.wearable).anchorBatch(f.twinId, merkleRoot);
  const recordAnchors = records.map((r) => ({
    kind: "records",
    recordsRoot,
    source: f.emr.address,
    ...r,
    proof: proveRecord(recordTree, r),
  }));
  const readingAnchors = readings.map((r) => ({
    kind: "batch",
    merkleRoot,
    source: f.wearable.address,
    ...r,
    proof: proveReading(readingTree, r.readingHash, r.timestamp),
  }));
  return { ...f, recordAnchors, readingAnchors };
}

describe("tasks: log:verify, index:sync, gateway:start", () => {
  it("log:verify checks records and readings from a file (a gateway answer) or inline", async () => {
    const f = await loadFixture(anchoredFixture);
    const file = path.join(tempDir("answer"), "answer.json");
    const answer = {
      proofs: {
        records: f.recordAnchors.map((anchor, i) => ({ key: `r${i}`, anchor })),
        readings: f.readingAnchors.map((anchor) => ({ anchor })),
      },
    };
    writeFileSync(file, JSON.stringify(answer));
    const { out, result } = await runTask<{ verified: boolean; total: number }>("log:verify", {
      ...f.flags,
      twin: f.twinId,
      file,
    });
    expect(result).to.include({ verified: true, total: 4 });
    expect(out).to.contain("All 4 anchors verified against the chain");
    const inline = await runTask<{ verified: boolean }>("log:verify", {
      ...f.flags,
      twin: f.twinId,
      anchor: JSON.stringify(f.readingAnchors[0]),
      json: true,
    });
    expect(JSON.parse(inline.out)).to.include({ verified: true, total: 1 });
  });

  it("log:verify fails on a tampered record and on input without anchors", async () => {
    const f = await loadFixture(anchoredFixture);
    const tampered = [f.recordAnchors[0], { ...f.recordAnchors[1], contentHash: hre.ethers.id("forged") }];
    const message = await taskError("log:verify", { ...f.flags, twin: f.twinId, anchor: JSON.stringify(tampered) });
    expect(message).to.contain("1 of 2 anchors are not on chain");
    expect(await taskError("log:verify", { ...f.flags, twin: f.twinId, anchor: "{}" })).to.contain("no anchor found");
    expect(await taskError("log:verify", { ...f.flags, twin: f.twinId, anchor: "{" })).to.contain("not readable JSON");
    expect(await taskError("log:verify", { ...f.flags, twin: f.twinId })).to.contain("exactly one of --file");
  });

  it("index:sync indexes the deployment's events, then says it is up to date", async () => {
    const f = await loadFixture(anchoredFixture);
    const db = path.join(tempDir("index"), "index.sqlite");
    const first = await runTask<{ events: number; toBlock: number }>("index:sync", { ...f.flags, db });
    expect(first.result.events).to.be.greaterThan(5);
    expect(first.out).to.match(/Indexed blocks 0\.\.\d+: \d+ events/);
    const { IndexReader } = await import("../../src/indexer");
    const reader = await IndexReader.open(db);
    try {
      expect((await reader.twin(f.twinId))?.owner).to.equal(f.patient.address);
    } finally {
      await reader.close();
    }
    const again = await runTask("index:sync", { ...f.flags, db, json: true });
    expect(JSON.parse(again.out)).to.include({ fromBlock: null });
    expect(await taskError("index:sync", { ...f.flags, db, confirmations: "two" })).to.contain(
      "--confirmations must be a whole number",
    );
  });

  it("gateway:start serves until shut down; refuses to start without the custodian key", async () => {
    const f = await loadFixture(taskFixture);
    const from = await indexOf(f.hospital.address);
    const saved = process.env[CUSTODIAN_KEY_ENV];
    delete process.env[CUSTODIAN_KEY_ENV];
    try {
      expect(await taskError("gateway:start", { ...f.flags, from, data: tempDir("gw"), port: "0" })).to.contain(
        `set ${CUSTODIAN_KEY_ENV}`,
      );
      process.env[CUSTODIAN_KEY_ENV] = Wallet.createRandom().privateKey;
      const run = startTask("gateway:start", { ...f.flags, from, data: tempDir("gw"), port: "0" });
      const deadline = Date.now() + 20_000;
      let url: string | undefined;
      while (!url && Date.now() < deadline) {
        url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(run.output())?.[1];
        if (!url) await new Promise((r) => setTimeout(r, 50));
      }
      expect(url, run.output()).to.be.a("string");
      const response = await fetch(`${url}/v1/query`, {
        method: "POST",
        headers: { "content-type": "application/json", connection: "close" },
        body: "{}",
      });
      expect(response.status).to.equal(400);
      // without --studies the gateway serves no cohort queries
      expect((await cohortQuery(url!, f.hospital.address, await f.consent.getAddress())).status).to.equal(503);
      requestShutdown();
      expect(await run.done).to.include({ url, stoppedBy: "requested" });
    } finally {
      if (saved === undefined) delete process.env[CUSTODIAN_KEY_ENV];
      else process.env[CUSTODIAN_KEY_ENV] = saved;
    }
  });

  it("gateway:start --studies --devices serves cohort queries (and starts with device flags followed)", async () => {
    const f = await loadFixture(taskFixture);
    const from = await indexOf(f.hospital.address);
    const [admin] = await hre.ethers.getSigners();
    const research = await deployResearch({
      deployer: admin,
      registry: f.flags.registry,
      operators: [f.hospital.address],
    });
    const saved = process.env[CUSTODIAN_KEY_ENV];
    process.env[CUSTODIAN_KEY_ENV] = Wallet.createRandom().privateKey;
    try {
      expect(
        await taskError("gateway:start", { ...f.flags, from, data: tempDir("gw"), port: "0", studies: "0x12" }),
      ).to.contain("--studies");
      const run = startTask("gateway:start", {
        ...f.flags,
        from,
        data: tempDir("gw"),
        port: "0",
        studies: research.studiesAddress,
        devices: research.devicesAddress,
      });
      const deadline = Date.now() + 20_000;
      let url: string | undefined;
      while (!url && Date.now() < deadline) {
        url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(run.output())?.[1];
        if (!url) await new Promise((r) => setTimeout(r, 50));
      }
      expect(url, run.output()).to.be.a("string");
      // the route is served: a query of a study that does not exist is a 404, not "no studies here"
      const answer = await cohortQuery(url!, f.hospital.address, await f.consent.getAddress());
      expect(answer.status, JSON.stringify(answer.body)).to.equal(404);
      requestShutdown();
      expect(await run.done).to.include({ url, stoppedBy: "requested" });
    } finally {
      if (saved === undefined) delete process.env[CUSTODIAN_KEY_ENV];
      else process.env[CUSTODIAN_KEY_ENV] = saved;
    }
  });
});

/** A signed cohort query of study 99 (none): 404 where the gateway serves studies, 503 where it serves none. */
async function cohortQuery(url: string, operator: string, consentAddress: string) {
  const client = new GatewayClient({
    baseUrl: url,
    chainId: (await hre.ethers.provider.getNetwork()).chainId,
    consentAddress,
    operator,
    signer: Wallet.createRandom(),
  });
  const body = await client.signCohortQuery(99, {
    aggregate: "count",
    subject: { kind: "vital", sign: "heartRate", bounds: [30, 200] },
    window: { from: 0, to: 1_000 },
    epsilonMilli: 500,
  });
  return client.cohortQuery(body);
}
