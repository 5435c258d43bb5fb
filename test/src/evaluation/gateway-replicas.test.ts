import { expect } from "chai";
import type { AutocannonResult } from "../../../src/evaluation/autocannon-load";
import { combine, renderReplicas, type ReplicaCapacity } from "../../../src/evaluation/gateway-replicas";
import { table } from "../../../src/evaluation/report";

const result = (ok: number, seconds: number, p99: number): AutocannonResult => ({
  requests: ok + 1,
  ok,
  non2xx: 1,
  errors: 0,
  timeouts: 0,
  seconds,
  okPerSecond: ok / seconds,
  latencyMs: { p50: p99 / 4, p90: p99 / 2, p99, max: p99 * 2 },
});

describe("evaluation/gateway-replicas: several gateway processes under autocannon", () => {
  it("sums the processes' answers over the longest run and keeps the worst percentiles", () => {
    const load = combine([result(1000, 2, 8), result(900, 2.5, 12)]);
    expect(load.ok).to.equal(1900);
    expect(load.requests).to.equal(1902);
    expect(load.refusedOrErrors).to.equal(2);
    expect(load.seconds).to.equal(2.5);
    expect(load.okPerSecond).to.equal(1900 / 2.5);
    expect(load.p99Ms).to.equal(12);
    expect(load.p50Ms).to.equal(3);
  });

  it("reports each process count beside bare fastify, and whether a replay was refused by every replica", () => {
    const gateway = combine([result(1000, 2, 8)]);
    const bare = combine([result(1000, 0.1, 2)]);
    const part: ReplicaCapacity = {
      measured: true,
      reason: "",
      postgresSource: "embedded",
      twins: 1000,
      levels: [
        { processes: 1, concurrency: 10, concurrencyPerProcess: 10, gateway, bare, ratio: 0.05, loadAverage: 2.25 },
      ],
      replay: { first: 200, replays: [409, 409] },
    };
    const text = renderReplicas(part, table).join("\n");
    expect(text).to.match(/\| 1 \| 10 \| 1,001 \| 500 \| 2\.0 \| 8\.0 \| 1 \| 2\.3 \| 10000 \| 2\.0 \| 5\.0% \|/);
    expect(text).to.match(/refused by every replica, as it must be/);
    expect(text).to.match(/spread over 1,000 twins/);
    const leaked = renderReplicas({ ...part, replay: { first: 200, replays: [200, 409] } }, table).join("\n");
    expect(leaked).to.match(/NOT refused by every replica/);
    expect(renderReplicas({ ...part, measured: false, reason: "no server" }, table).join("\n")).to.match(
      /Not measured\*\*: no server/,
    );
  });

  it("says where the processes' store was and what a query cost them in CPU when that was recorded", () => {
    const gateway = combine([result(1000, 2, 8)]);
    const bare = combine([result(1000, 0.1, 2)]);
    const level = {
      processes: 2,
      concurrency: 10,
      concurrencyPerProcess: 5,
      gateway,
      bare,
      ratio: 0.05,
      loadAverage: 2,
    };
    const part: ReplicaCapacity = {
      measured: true,
      reason: "",
      backend: "sqlite",
      postgresSource: "",
      twins: 1,
      levels: [{ ...level, cpuMsPerQuery: 0.4567 }],
      replay: null,
    };
    const text = renderReplicas(part, table).join("\n");
    expect(text).to.match(/sharing one SQLite file/);
    expect(text).not.to.match(/PostgreSQL/);
    expect(text).to.match(/\| CPU ms a query \|/);
    expect(text).to.match(/\| 2 \| 10 \| 1,001 \| 500 \| 2\.0 \| 8\.0 \| 1 \| 0\.457 \| 2\.0 \|/);
    const postgres = renderReplicas(
      { ...part, backend: undefined, postgresSource: "embedded", levels: [level] },
      table,
    );
    expect(postgres.join("\n")).to.match(/one PostgreSQL database/);
    expect(postgres.join("\n")).not.to.match(/CPU ms a query/);
  });
});
