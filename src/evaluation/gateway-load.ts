import { JsonRpcProvider, Wallet } from "ethers";
import { TwinUpdateLog__factory } from "../../typechain-types";
import type { GatewayResult, QueryResponse } from "../service";
import { Purpose } from "../vocabulary";

/**
 * The load client of the gateway measurement, run in its own process (`node -r ts-node/register/transpile-only
 * gateway-load.ts '<json options>'`) so that its signing and proof checking do not share the gateway's event loop.
 * Prints one JSON line: the per-query times and the counts.
 *
 * Two modes:
 * - `end-to-end`: each query as a reader runs it, timed whole: sign (EIP-712) → POST → check every proof against the
 *   chain (verifyAnswer, each anchor asked of the chain once and then known: VerifiedAnchors);
 * - `gateway`: the gateway's capacity, as a load generator measures a server: the queries are signed before the
 *   clock starts (each with its own nonce and a fresh issuedAt), only the POSTs are timed, and every answer's proofs
 *   are checked after the clock stops.
 */
export type LoadMode = "end-to-end" | "gateway";

export interface LoadOptions {
  readonly mode: LoadMode;
  readonly baseUrl: string;
  readonly rpcUrl: string;
  readonly chainId: string;
  readonly consentAddress: string;
  readonly updateLogAddress: string;
  /** The gateway operator's address: the audience every signed query names. */
  readonly operator: string;
  readonly twinId: string;
  readonly readerKey: string;
  readonly concurrency: number;
  readonly requests: number;
  readonly warmup: number;
  readonly timeoutMs: number;
}

export interface LoadResult {
  readonly e2e: number[];
  readonly http: number[];
  readonly allowed: number;
  readonly denied: number;
  readonly errors: number;
  readonly verified: number;
  readonly seconds: number;
}

const LOCAL = /^http:\/\/127\.0\.0\.1:\d+$/;

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (!LOCAL.test(options.baseUrl) || !LOCAL.test(options.rpcUrl))
    throw new Error("the load client talks to 127.0.0.1 only");
  const { GatewayClient, verifyAnswer } = await import("../service");
  const { VerifiedAnchors } = await import("../pipeline/verify");
  const provider = new JsonRpcProvider(
    options.rpcUrl,
    { chainId: Number(options.chainId), name: "hardhat" },
    {
      staticNetwork: true,
      batchMaxCount: 1,
    },
  );
  const updateLog = TwinUpdateLog__factory.connect(options.updateLogAddress, provider);
  const client = new GatewayClient({
    baseUrl: options.baseUrl,
    signer: new Wallet(options.readerKey),
    chainId: BigInt(options.chainId),
    consentAddress: options.consentAddress,
    operator: options.operator,
  });
  const verifiedAnchors = new VerifiedAnchors();
  const sign = () => client.signQuery(options.twinId, "latest-vitals", {}, { purpose: Purpose.TREATMENT });
  type Answer = GatewayResult<QueryResponse>;
  const check = async (answer: Answer) =>
    answer.ok ? (await verifyAnswer(answer.body, { updateLog, verified: verifiedAnchors })).valid : false;
  const endToEnd = async () => {
    const start = performance.now();
    const body = await sign();
    const sent = performance.now();
    const result = await client.post(body);
    const http = performance.now() - sent;
    const verified = await check(result);
    return { e2e: performance.now() - start, http, allowed: result.ok, verified };
  };
  for (let i = 0; i < options.warmup; i++) await endToEnd();

  // Gateway mode: every query signed before the clock starts; answers kept to be checked after it stops.
  const presigned = options.mode === "gateway" ? await Promise.all(Array.from({ length: options.requests }, sign)) : [];
  const answers: Answer[] = [];
  const postOnly = async (index: number) => {
    const sent = performance.now();
    const result = await client.post(presigned[index]);
    const http = performance.now() - sent;
    answers.push(result);
    return { e2e: http, http, allowed: result.ok, verified: false };
  };
  const one = options.mode === "gateway" ? postOnly : endToEnd;

  const out = { e2e: [] as number[], http: [] as number[], allowed: 0, denied: 0, errors: 0, verified: 0 };
  let next = 0;
  const deadline = performance.now() + options.timeoutMs;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < options.requests && performance.now() < deadline) {
        const index = next++;
        try {
          const r = await one(index);
          out.e2e.push(r.e2e);
          out.http.push(r.http);
          if (r.allowed) out.allowed++;
          else out.denied++;
          if (r.verified) out.verified++;
        } catch {
          out.errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  for (const answer of answers) if (await check(answer)) out.verified++;
  provider.destroy();
  return { ...out, seconds };
}

if (require.main === module) {
  runLoad(JSON.parse(process.argv[2] ?? "{}") as LoadOptions)
    .then((result) => process.stdout.write(`${JSON.stringify(result)}\n`))
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    });
}
