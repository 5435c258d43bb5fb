import { expect } from "chai";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { Client } from "pg";
import { Action, DataCategory, Purpose } from "../../../src/vocabulary";
import { freshDatabase } from "../../postgres-server";
import { GatewayHarness, grant } from "./harness";

/**
 * Issue 12, faults: PostgreSQL unreachable, then restarted, under load. The gateway's database connections go
 * through a TCP relay on 127.0.0.1 that the test cuts (every connection reset, new ones refused) and restores; a
 * restart is the server ending every session of the database (`pg_terminate_backend`, what a restart does to them).
 */
class Relay {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  async up(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection(this.targetPort, this.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => undefined);
      }
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    const address = server.address();
    this.port = typeof address === "object" && address !== null ? address.port : 0;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe("query gateway: PostgreSQL unreachable or restarted under load (issue 12)", function () {
  this.timeout(120_000);
  let h: GatewayHarness;
  let relay: Relay;
  let databaseUrl: string;

  before(async () => {
    databaseUrl = await freshDatabase("outage");
    const target = new URL(databaseUrl);
    relay = new Relay(target.hostname, Number(target.port));
    await relay.up();
    const viaRelay = new URL(databaseUrl);
    viaRelay.hostname = "127.0.0.1";
    viaRelay.port = String(relay.port);
    h = await GatewayHarness.start({
      databaseUrl: viaRelay.toString(),
      limits: { perAddress: false, perSigner: false },
    });
    await grant(h.f, h.f.clinician.address, {
      categories: DataCategory.VITALS | DataCategory.WEARABLE_STREAMS,
      actions: Action.READ,
      purposes: Purpose.TREATMENT,
    });
    const warm = await h.client(h.f.clinician).query(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
    expect(warm.status).to.equal(200);
  });

  after(async () => {
    await h?.close();
    await relay?.down();
  });

  /** Queries in a loop until `until` resolves; the statuses and Retry-After headers seen, in order. */
  async function underLoad(until: Promise<void>): Promise<{ status: number; retryAfter: string | null }[]> {
    const seen: { status: number; retryAfter: string | null }[] = [];
    let done = false;
    void until.then(() => (done = true));
    const client = h.client(h.f.clinician);
    const worker = async () => {
      while (!done) {
        const body = await client.signQuery(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
        const response = await fetch(`${h.url}/v1/query`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        await response.arrayBuffer();
        seen.push({ status: response.status, retryAfter: response.headers.get("retry-after") });
      }
    };
    await Promise.all([worker(), worker(), worker()]);
    return seen;
  }

  const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

  it("unreachable: 503 store-unavailable with Retry-After while it is down, 200 again once it is back", async () => {
    const seen = await underLoad(
      (async () => {
        await pause(300);
        await relay.down();
        await pause(1_500);
        await relay.up();
        await pause(1_500);
      })(),
    );
    const statuses = seen.map((s) => s.status);
    expect(statuses).to.include(200);
    expect(statuses).to.include(503);
    expect(
      statuses.every((s) => s === 200 || s === 503),
      JSON.stringify(statuses),
    ).to.equal(true);
    for (const s of seen.filter((x) => x.status === 503)) expect(Number(s.retryAfter)).to.be.greaterThan(0);
    expect(statuses.indexOf(200), "served before the outage").to.be.lessThan(statuses.indexOf(503));
    expect(statuses[statuses.length - 1], "recovered: the pool reconnected by itself").to.equal(200);
    const body = await h.client(h.f.clinician).query(h.f.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
    expect(body.status).to.equal(200);
    if (body.ok) expect(body.body.logIndex).to.equal((await h.gateway.accessLog.count()) - 1);
  });

  it("restarted (every session ended by the server): the queries in flight fail 503, then it serves again", async () => {
    const admin = new Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      const seen = await underLoad(
        (async () => {
          await pause(300);
          await admin.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
          );
          await pause(1_000);
        })(),
      );
      const statuses = seen.map((s) => s.status);
      expect(
        statuses.every((s) => s === 200 || s === 503),
        JSON.stringify(statuses),
      ).to.equal(true);
      expect(statuses[statuses.length - 1], JSON.stringify(statuses)).to.equal(200);
      const count = await h.gateway.accessLog.count();
      const entries = await h.gateway.accessLog.range(0, count - 1);
      expect(entries.map((e) => e.index)).to.deep.equal(Array.from({ length: count }, (_, i) => i)); // no gap
    } finally {
      await admin.end();
    }
  });
});
