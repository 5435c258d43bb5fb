/**
 * Timing of what the gateway does to the store per query: one nonce claim and one access-log append, on SQLite and
 * on PostgreSQL (the test server of test/postgres-server.ts). Figures, not a test: run with
 * `npx ts-node test/src/store/sql/access-log-timing.ts [count]`. Loaded by mocha it does nothing.
 */
import { ethers } from "ethers";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AccessLog } from "../../../../src/service/access-log";
import { freshDatabase } from "../../../postgres-server";

async function perQuery(
  log: AccessLog,
  count: number,
  concurrency: number,
): Promise<{ usPerQuery: number; qps: number }> {
  await log.ready();
  const reader = ethers.getAddress("0x" + "cd".repeat(20));
  const twinId = ethers.id("twin");
  const nonces = Array.from({ length: count }, () => ethers.hexlify(ethers.randomBytes(32)));
  const hashes = Array.from({ length: count }, (_, i) => ethers.id(`request:${i}`));
  let next = 0;
  const started = process.hrtime.bigint();
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const now = Math.floor(Date.now() / 1000);
      if ((await log.claimNonce(reader, nonces[i], now + 60, now)) === null) throw new Error("nonce refused");
      await log.append({
        time: Date.now(),
        twinId,
        reader,
        queryType: "summary",
        category: 1,
        purpose: 1,
        decision: "allowed",
        status: 200,
        requestHash: hashes[i],
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { usPerQuery: (seconds * 1e6) / count, qps: count / seconds };
}

async function main(count: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "twinledger-timing-"));
  const rows: string[] = [];
  try {
    for (const concurrency of [1, 10]) {
      const sqlite = new AccessLog(join(dir, `log-${concurrency}.sqlite`));
      await perQuery(sqlite, 200, concurrency); // warm-up
      const s = await perQuery(sqlite, count, concurrency);
      await sqlite.close();
      const pg = new AccessLog("", { databaseUrl: await freshDatabase("timing"), maxConnections: 10 });
      await perQuery(pg, 200, concurrency);
      const p = await perQuery(pg, count, concurrency);
      await pg.close();
      rows.push(
        `concurrency ${concurrency}: SQLite ${s.usPerQuery.toFixed(0)} µs/query (${s.qps.toFixed(0)}/s), ` +
          `PostgreSQL ${p.usPerQuery.toFixed(0)} µs/query (${p.qps.toFixed(0)}/s)`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`nonce claim + access-log append, ${count} queries\n${rows.join("\n")}\n`);
  process.exit(0);
}

if (require.main === module) void main(Number(process.argv[2] ?? 3000));
