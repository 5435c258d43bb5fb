import { expect } from "chai";
import type autocannon from "autocannon";
import Fastify, { type FastifyInstance } from "fastify";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resultOf } from "../../../src/evaluation/autocannon-load";
import {
  capacityVerdict,
  measureCapacity,
  renderCapacity,
  requestsFor,
  type CapacityLevel,
} from "../../../src/evaluation/gateway-capacity";
import type { AutocannonResult } from "../../../src/evaluation/autocannon-load";
import { table } from "../../../src/evaluation/report";

const ROOT = join(__dirname, "..", "..", "..");

/** Just the fields of an autocannon result that resultOf reads. */
function raw(fields: { ok: number; total: number; duration: number; non2xx?: number }): autocannon.Result {
  return {
    "2xx": fields.ok,
    non2xx: fields.non2xx ?? 0,
    errors: 0,
    timeouts: 0,
    duration: fields.duration,
    requests: { total: fields.total },
    latency: { p50: 3, p90: 5, p99: 9, max: 12 },
  } as unknown as autocannon.Result;
}

describe("evaluation/gateway-capacity: the gateway under autocannon beside a bare handler", () => {
  it("reads autocannon's result: 2xx per second of autocannon's own duration, the wall time only as a fallback", () => {
    const r = resultOf(raw({ ok: 4_000, total: 4_002, duration: 2.5, non2xx: 2 }), 3.4);
    expect(r).to.deep.include({ requests: 4_002, ok: 4_000, non2xx: 2, seconds: 2.5, okPerSecond: 1_600 });
    expect(r.latencyMs).to.deep.equal({ p50: 3, p90: 5, p99: 9, max: 12 });
    expect(resultOf(raw({ ok: 100, total: 100, duration: 0 }), 0.5).okPerSecond).to.equal(200);
  });

  it("sizes a measured run for the seconds asked at the warm-up's rate, within the minimum, the timeout and a cap", () => {
    const bounds = { minimum: 1_000, minSeconds: 2, timeoutMs: 10_000 };
    expect(requestsFor(2_000, bounds)).to.equal(6_000); // 2 s × 1.5 margin
    expect(requestsFor(100, bounds)).to.equal(1_000); // the minimum
    expect(requestsFor(20_000, { ...bounds, timeoutMs: 2_000 })).to.equal(32_000); // 80% of the timeout
    expect(requestsFor(20_000, { ...bounds, cap: 5_000 })).to.equal(5_000);
    expect(requestsFor(Number.NaN, bounds)).to.equal(1_000);
  });

  it("reports the level with its warm-up, CPU a query and load average, and judges the target on them", () => {
    const result = (okPerSecond: number, p99: number): AutocannonResult => ({
      requests: 6_000,
      ok: 6_000,
      non2xx: 0,
      errors: 0,
      timeouts: 0,
      seconds: 6_000 / okPerSecond,
      okPerSecond,
      latencyMs: { p50: p99 / 2, p90: p99, p99, max: p99 },
    });
    const level: CapacityLevel = {
      concurrency: 10,
      gateway: result(1_500, 18),
      bare: result(15_000, 2),
      ratio: 0.1,
      warmup: { gateway: { ...result(900, 30), requests: 1_000 }, bare: result(9_000, 3) },
      cpuMsPerQuery: 0.512,
      loadAverage: { before: 1.25, after: 2.5 },
    };
    const text = renderCapacity([level], table).join("\n");
    expect(text).to.include("warm-up round of 1,000 queries").and.include("| 0.512 |").and.include("1.3 → 2.5");
    expect(text).to.include("| 10.0% |").and.include("its own");
    const row = capacityVerdict([level]);
    expect(row.verdict).to.equal("missed");
    expect(row.measured).to.include("1500.0 allowed queries/s").and.include("load average 1.3 → 2.5");
    expect(capacityVerdict([{ ...level, gateway: result(3_100, 18) }]).verdict).to.equal("met");
    expect(capacityVerdict([]).verdict).to.equal("not measured");
    expect(renderCapacity(undefined, table)).to.deep.equal([]);
  });

  describe("a run against a stand-in gateway", function () {
    this.timeout(120_000);
    let app: FastifyInstance;
    let dir: string;
    let received = 0;
    let gatewayUrl: string;
    const nonces = new Set<string>();
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "twinledger-capacity-test-"));
      app = Fastify({ logger: false });
      app.post<{ Body: { nonce: string } }>("/v1/query", async (request, reply) => {
        received++;
        if (nonces.has(request.body.nonce)) return reply.code(409).send({ error: "replayed" });
        nonces.add(request.body.nonce);
        return { ok: true };
      });
      gatewayUrl = await app.listen({ host: "127.0.0.1", port: 0 });
    });
    after(async () => {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("warms up first and does not count it; every measured body is sent once; the bare handler runs apart", async () => {
      let signed = 0;
      const levels = await measureCapacity({
        root: ROOT,
        dir,
        gatewayUrl,
        concurrencies: [4],
        requests: 300,
        warmup: 120,
        minSeconds: 0.01,
        timeoutMs: 20_000,
        sign: async () => ({ nonce: `n${signed++}` }),
        tick: () => undefined,
      });
      expect(levels).to.have.length(1);
      const [level] = levels;
      expect(level.warmup?.gateway.ok).to.equal(120);
      expect(level.gateway.requests).to.equal(300); // the warm-up's 120 not among them
      expect(level.gateway.ok).to.equal(300); // no body sent twice: no 409
      expect(received).to.equal(420);
      expect(signed).to.equal(420);
      expect(level.bare.ok).to.be.at.least(300);
      expect(level.ratio).to.equal(level.gateway.okPerSecond / level.bare.okPerSecond);
      expect(level.cpuMsPerQuery).to.be.a("number").and.be.greaterThan(0);
      expect(level.loadAverage?.before).to.be.a("number");
    });

    it("aroundGatewayRun wraps the measured run against the gateway alone (what npm run profile:gateway profiles)", async () => {
      let signed = 0;
      const wrapped: number[] = [];
      const levels = await measureCapacity({
        root: ROOT,
        dir,
        gatewayUrl,
        concurrencies: [2],
        requests: 200,
        warmup: 50,
        minSeconds: 0.01,
        timeoutMs: 20_000,
        sign: async () => ({ nonce: `w${signed++}` }),
        tick: () => undefined,
        aroundGatewayRun: async (run) => {
          const before = received;
          const result = await run();
          wrapped.push(received - before);
          return result;
        },
      });
      expect(wrapped).to.deep.equal([200], "one run wrapped: the measured one, its 200 bodies; not the warm-up");
      expect(levels[0].gateway.ok).to.equal(200);
      expect(levels[0].warmup?.gateway.ok).to.equal(50);
    });
  });
});
