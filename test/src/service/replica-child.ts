/**
 * One gateway replica as its own process, for the replica tests (replicas.test.ts): started with
 * `node -r ts-node/register/transpile-only replica-child.ts <config.json>` and `DATABASE_URL` set, it serves a
 * fixed twin (the data of the harness's fixture, as JSON) over the parent's chain (a JSON-RPC endpoint on
 * 127.0.0.1), prints `{"url": ...}` once listening, and closes on SIGTERM. Loaded by mocha as a test file it does
 * nothing.
 */
import { readFileSync } from "node:fs";
import { JsonRpcProvider } from "ethers";
import { ConsentPolicy__factory, TwinRegistry__factory } from "../../../typechain-types";
import { JsonTwinData, type ReplicaTwin } from "../../../src/evaluation/json-twin-data";
import { createGateway } from "../../../src/service";
import { databaseUrlFromEnv } from "../../../src/store/sql";

/** What the parent hands a replica. */
export interface ReplicaConfig {
  readonly rpcUrl: string;
  readonly chainId: number;
  readonly consent: string;
  readonly registry: string;
  readonly operator: string;
  readonly origin: string;
  readonly twin: ReplicaTwin;
}

async function main(configPath: string): Promise<void> {
  const config = JSON.parse(readFileSync(configPath, "utf8")) as ReplicaConfig;
  const databaseUrl = databaseUrlFromEnv();
  if (databaseUrl === undefined) throw new Error("a replica needs DATABASE_URL");
  const provider = new JsonRpcProvider(config.rpcUrl, config.chainId, { staticNetwork: true });
  const gateway = createGateway({
    data: new JsonTwinData(config.twin),
    consent: ConsentPolicy__factory.connect(config.consent, provider),
    registry: TwinRegistry__factory.connect(config.registry, provider),
    chainId: config.chainId,
    dbPath: ":memory:",
    databaseUrl,
    operator: config.operator,
    origin: config.origin,
    limits: { perAddress: false, perSigner: false },
  });
  const url = await gateway.listen();
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  process.once("SIGTERM", () => {
    void gateway.close().finally(() => process.exit(0));
  });
}

if (require.main === module) {
  main(process.argv[2]).catch((error: unknown) => {
    process.stderr.write(`replica failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
