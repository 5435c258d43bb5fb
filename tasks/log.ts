import { readFileSync } from "node:fs";
import { getBytes, hexlify, isHexString } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { cidHashOf } from "../src/chain/anchors";
import { parseCid } from "../src/store/cid";
import { bytes32, call, contextOf, fail, type TaskContext } from "./lib/context";
import { progress, report } from "./lib/output";
import type { TwinArgs } from "./twin";

/**
 * The anchors log:verify checks, as the pipeline and the gateway's answers carry them (src/pipeline/reader.ts):
 * a record in an anchored record batch, a reading in an anchored batch, or a v1 per-record update.
 */
interface RecordsAnchorInput {
  kind: "records";
  recordsRoot: string;
  source: string;
  category: number;
  contentHash: string;
  cid: string;
  proof: string[];
}
interface BatchAnchorInput {
  kind: "batch";
  merkleRoot: string;
  source: string;
  readingHash: string;
  timestamp: number;
  proof: string[];
}
interface UpdateAnchorInput {
  kind: "update";
  sequence: string;
  contentHash: string;
  cid: string;
  blockNumber: number;
}
type AnchorInput = RecordsAnchorInput | BatchAnchorInput | UpdateAnchorInput;

export interface LogVerifyArgs extends TwinArgs {
  readonly file?: string;
  readonly anchor?: string;
}

/** Every anchor in a JSON value: an anchor, an array of them, or any object holding them (a gateway answer). */
export function anchorsIn(value: unknown, out: AnchorInput[] = [], depth = 0): AnchorInput[] {
  if (depth > 8 || value === null || typeof value !== "object") return out;
  if (Array.isArray(value)) {
    for (const v of value) anchorsIn(v, out, depth + 1);
    return out;
  }
  const kind = (value as { kind?: unknown }).kind;
  if (kind === "records" || kind === "batch" || kind === "update") out.push(value as AnchorInput);
  else for (const v of Object.values(value)) anchorsIn(v, out, depth + 1);
  return out;
}

/** The binary form of a CID given as a string (base32 CIDv1) or as 0x hex. */
function cidBytes(cid: string): string {
  return isHexString(cid) ? cid : hexlify(parseCid(cid).bytes);
}

async function verifyOne(ctx: TaskContext, twinId: string, a: AnchorInput): Promise<boolean> {
  if (a.kind === "records") {
    return ctx.updateLog.verifyRecord(
      twinId,
      a.source,
      a.recordsRoot,
      a.category,
      a.contentHash,
      cidHashOf(cidBytes(a.cid)),
      a.proof,
    );
  }
  if (a.kind === "batch") {
    return ctx.updateLog.verifyReading(twinId, a.source, a.merkleRoot, a.readingHash, a.timestamp, a.proof);
  }
  const events = await ctx.updateLog.queryFilter(
    ctx.updateLog.filters.UpdateRecorded(twinId, BigInt(a.sequence)),
    a.blockNumber,
    a.blockNumber,
  );
  return events.some(
    (e) =>
      e.args.contentHash.toLowerCase() === a.contentHash.toLowerCase() &&
      hexlify(getBytes(e.args.cid)) === cidBytes(a.cid).toLowerCase(),
  );
}

/** log:verify: checks records or readings (their anchors, as the gateway answers them) against the chain. */
export async function logVerify(args: LogVerifyArgs, hre: HardhatRuntimeEnvironment) {
  const twinId = bytes32(args.twin, "--twin");
  if (!args.file === !args.anchor) fail("give exactly one of --file (a JSON file) or --anchor (inline JSON)");
  let parsed: unknown;
  try {
    parsed = JSON.parse(args.file ? readFileSync(args.file, "utf8") : args.anchor!);
  } catch (error) {
    fail(`${args.file ? `--file ${args.file}` : "--anchor"}: not readable JSON (${(error as Error).message})`);
  }
  const anchors = anchorsIn(parsed);
  if (anchors.length === 0)
    fail('no anchor found: expected objects with kind "records", "batch" or "update" (src/pipeline/reader.ts)');
  const ctx = await contextOf(hre, args);
  const bar = progress(args, anchors.length, "verifying");
  const results = [];
  try {
    for (const a of anchors) {
      const verified = await call(ctx, `TwinUpdateLog.verifying a ${a.kind} anchor`, () => verifyOne(ctx, twinId, a));
      const root = a.kind === "records" ? a.recordsRoot : a.kind === "batch" ? a.merkleRoot : `update #${a.sequence}`;
      results.push({ kind: a.kind, root, verified });
      bar.increment();
    }
  } finally {
    bar.stop();
  }
  const failed = results.filter((r) => !r.verified).length;
  const data = { twinId, verified: failed === 0, total: results.length, failed, results };
  report(args, data, (d) => [
    d.verified
      ? `All ${d.total} anchor${d.total === 1 ? "" : "s"} verified against the chain for twin ${d.twinId}`
      : `${d.failed} of ${d.total} anchors NOT verified for twin ${d.twinId}`,
    ...d.results.map((r) => `  ${r.verified ? "ok  " : "FAIL"} ${r.kind.padEnd(7)} ${r.root}`),
  ]);
  if (failed > 0) fail(`${failed} of ${results.length} anchors are not on chain for twin ${twinId}`);
  return data;
}
