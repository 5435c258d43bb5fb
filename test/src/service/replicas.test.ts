import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { network } from "hardhat";
import { JsonRpcServer } from "hardhat/internal/hardhat-network/jsonrpc/server";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { AccessLog, GatewayClient } from "../../../src/service";
import { Action, DataCategory, Purpose } from "../../../src/vocabulary";
import { freshDatabase } from "../../postgres-server";
import { GATEWAY_ORIGIN, gatewayFixture, grant, type GatewayFixture } from "./harness";
import type { ReplicaConfig } from "./replica-child";

/**
 * Issue 12, gateway replicas: three gateway processes of one operator behind one PostgreSQL database share the
 * nonce store and the access log. Each replica is a child process on its own 127.0.0.1 port, reading the parent's
 * in-process chain through a JSON-RPC endpoint.
 */
interface Replica {
  readonly child: ChildProcess;
  readonly url: string;
}

const READ_VITALS = { categories: DataCategory.VITALS | DataCategory.WEARABLE_STREAMS, actions: Action.READ };

async function startReplica(configPath: string, databaseUrl: string): Promise<Replica> {
  const child = spawn(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", join(__dirname, "replica-child.ts"), configPath],
    { env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica did not start: ${stderr}`)), 150_000);
    createInterface({ input: child.stdout! }).once("line", (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`replica exited (${code}): ${stderr}`));
    });
  });
  return { child, url };
}

function stop(replica: Replica, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (replica.child.exitCode !== null || replica.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    replica.child.once("exit", () => resolve());
    replica.child.kill(signal);
  });
}

describe("query gateway: three replicas behind one PostgreSQL (issue 12)", function () {
  this.timeout(240_000);
  let f: GatewayFixture;
  let rpc: JsonRpcServer;
  let databaseUrl: string;
  let replicas: Replica[] = [];
  const dir = mkdtempSync(join(tmpdir(), "twinledger-replicas-"));

  before(async () => {
    f = await loadFixture(gatewayFixture);
    rpc = new JsonRpcServer({ hostname: "127.0.0.1", port: 0, provider: network.provider });
    const { port } = await rpc.listen();
    databaseUrl = await freshDatabase("replicas");
    const config: ReplicaConfig = {
      rpcUrl: `http://127.0.0.1:${port}`,
      chainId: Number(f.chainId),
      consent: await f.consent.getAddress(),
      registry: await f.registry.getAddress(),
      operator: f.hospital.address,
      origin: GATEWAY_ORIGIN,
      twin: {
        twinId: f.twinId,
        ...f.data.version(f.twinId),
        records: [...(await f.data.records(f.twinId, 0xffffffff))],
        readings: [...(await f.data.readings(f.twinId, {}))],
      },
    };
    const configPath = join(dir, "replica.json");
    writeFileSync(configPath, JSON.stringify(config));
    // started together: they migrate the fresh database at once (the advisory lock makes it once)
    replicas = await Promise.all([0, 1, 2].map(() => startReplica(configPath, databaseUrl)));
    await grant(f, f.clinician.address, { ...READ_VITALS, purposes: Purpose.TREATMENT });
  });

  after(async () => {
    await Promise.all(replicas.map((r) => stop(r)));
    await rpc?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const clientOf = (replica: Replica, signer = f.clinician) =>
    new GatewayClient({
      baseUrl: replica.url,
      signer,
      chainId: f.chainId,
      consentAddress: f.consentAddress,
      operator: f.hospital.address,
      origin: GATEWAY_ORIGIN,
    });
  const signed = () => clientOf(replicas[0]).signQuery(f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });

  it("a query answered by one replica, replayed to any replica, is refused by every one (409 replayed)", async () => {
    const body = await signed();
    expect((await clientOf(replicas[0]).post(body)).status).to.equal(200);
    for (const replica of replicas) {
      const replay = await clientOf(replica).post(body);
      expect(replay.status, replica.url).to.equal(409);
      expect(replay.body).to.deep.include({ error: "replayed" });
    }
  });

  it("one body sent to the three replicas at once: exactly one answers, the others refuse it", async () => {
    for (let round = 0; round < 5; round++) {
      const body = await signed();
      const statuses = await Promise.all(
        replicas.map((r) =>
          clientOf(r)
            .post(body)
            .then((x) => x.status),
        ),
      );
      expect([...statuses].sort(), `round ${round}`).to.deep.equal([200, 409, 409]);
    }
  });

  it("the replicas write one gap-free access log: a log read on one replica shows the others' entries", async () => {
    const bodies = await Promise.all(Array.from({ length: 12 }, () => signed()));
    const answers = await Promise.all(bodies.map((body, i) => clientOf(replicas[i % 3]).post(body)));
    expect(answers.map((a) => a.status)).to.deep.equal(Array(12).fill(200));
    const indexes = answers.map((a) => (a.ok ? a.body.logIndex : -1)).sort((x, y) => x - y);
    expect(new Set(indexes).size).to.equal(12);
    const log = new AccessLog("", { databaseUrl });
    try {
      const count = await log.count();
      const entries = await log.range(0, count - 1);
      expect(entries.map((e) => e.index)).to.deep.equal(Array.from({ length: count }, (_, i) => i));
      expect(entries.filter((e) => e.decision === "allowed")).to.have.length(1 + 5 + 12);
    } finally {
      await log.close();
    }
    const read = await clientOf(replicas[2], f.patient).accessLog(f.twinId, { limit: 500 });
    if (!read.ok) throw new Error(JSON.stringify(read.body));
    expect(read.body.entries.filter((e) => e.entry.queryType === "latest-vitals")).to.have.length(18);
  });

  it("one replica's claims of one turn go in one statement: a body sent twice at once among fresh ones wins once", async () => {
    const replica = clientOf(replicas[1]);
    for (let round = 0; round < 3; round++) {
      const twice = await signed();
      const fresh = await Promise.all(Array.from({ length: 6 }, () => signed()));
      const statuses = await Promise.all(
        [twice, ...fresh, twice].map((body) => replica.post(body).then((x) => x.status)),
      );
      expect(statuses.slice(1, 7), `round ${round}`).to.deep.equal(Array(6).fill(200));
      expect([statuses[0], statuses[7]].sort(), `round ${round}`).to.deep.equal([200, 409]);
    }
  });

  it("a replica killed (SIGKILL) while the others serve: the others keep answering, and still refuse replays", async () => {
    const [alive0, victim, alive2] = replicas;
    let running = true;
    const served: number[] = [];
    const load = (async () => {
      for (let i = 0; running; i++) {
        const answer = await clientOf(i % 2 ? alive2 : alive0).post(await signed());
        served.push(answer.status);
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    await stop(victim, "SIGKILL");
    expect(victim.child.signalCode).to.equal("SIGKILL");
    await new Promise((r) => setTimeout(r, 500));
    running = false;
    await load;
    expect(served.length).to.be.greaterThan(5);
    expect(
      served.every((s) => s === 200),
      JSON.stringify(served),
    ).to.equal(true);
    const refused = await fetch(`${victim.url}/v1/query`, { method: "POST" }).catch(() => null);
    expect(refused).to.equal(null); // nobody listens there any more
    const body = await signed();
    expect((await clientOf(alive2).post(body)).status).to.equal(200);
    expect((await clientOf(alive0).post(body)).status).to.equal(409);
  });
});
