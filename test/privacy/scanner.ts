import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { keccak256, toBeHex, toUtf8Bytes, zeroPadValue } from "ethers";
import type { PhiFacts } from "./phi-facts";

/**
 * The no-PHI scanner: what the chain and the service's files hold, as byte chunks, searched for every form of every
 * fact of the patient. An attacker's tool: it reads the chain over JSON-RPC as anyone can (blocks, transaction
 * inputs, receipts' logs, and the storage each transaction writes, from debug_traceTransaction's SSTOREs), and the
 * files as the operator of the host would.
 */

/** How a fact is looked for. */
export type NeedleForm = "utf8" | "hex-text" | "keccak256" | "keccak256-hex-text" | "uint256-word";

export interface Needle {
  readonly fact: string;
  readonly form: NeedleForm;
  readonly bytes: Buffer;
}

/** Bytes from one place: a transaction's input, a log, a storage write, a file or a file's name. */
export interface Chunk {
  readonly where: string;
  readonly bytes: Buffer;
}

export interface Hit {
  readonly fact: string;
  readonly form: NeedleForm;
  readonly where: string;
}

/**
 * Raw bytes shorter than this are looked for by their keccak256 only: shorter byte strings turn up by chance in
 * encrypted blobs (a 6-byte needle: about one chance in 2^48 per offset).
 */
export const MIN_RAW_BYTES = 6;

export function needlesOf(facts: PhiFacts): Needle[] {
  const needles: Needle[] = [];
  const seen = new Set<string>();
  const add = (fact: string, form: NeedleForm, bytes: Buffer) => {
    const key = bytes.toString("hex");
    if (seen.has(key)) return;
    seen.add(key);
    needles.push({ fact, form, bytes });
  };
  for (const fact of facts.texts) {
    const utf8 = Buffer.from(toUtf8Bytes(fact));
    const hash = keccak256(utf8);
    add(fact, "keccak256", Buffer.from(hash.slice(2), "hex"));
    add(fact, "keccak256-hex-text", Buffer.from(hash.slice(2), "ascii"));
    if (utf8.length >= MIN_RAW_BYTES) {
      add(fact, "utf8", utf8);
      add(fact, "hex-text", Buffer.from(utf8.toString("hex"), "ascii"));
    }
  }
  for (const time of facts.times) {
    add(`time ${time}`, "uint256-word", Buffer.from(zeroPadValue(toBeHex(time), 32).slice(2), "hex"));
  }
  return needles;
}

/** Every needle found in every chunk (case-insensitively for the hex-text forms). */
export function findHits(chunks: readonly Chunk[], needles: readonly Needle[]): Hit[] {
  const hits: Hit[] = [];
  for (const chunk of chunks) {
    const lower = Buffer.from(chunk.bytes.toString("latin1").toLowerCase(), "latin1");
    for (const needle of needles) {
      const haystack = needle.form.endsWith("hex-text") ? lower : chunk.bytes;
      if (haystack.length >= needle.bytes.length && haystack.indexOf(needle.bytes) !== -1) {
        hits.push({ fact: needle.fact, form: needle.form, where: chunk.where });
      }
    }
  }
  return hits;
}

async function rpc<T>(url: string, method: string, params: unknown[] = []): Promise<T> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: T; error?: { message?: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message ?? "error"}`);
  return body.result as T;
}

interface RpcTransaction {
  readonly hash: string;
  readonly input: string;
}
interface RpcLog {
  readonly address: string;
  readonly topics: readonly string[];
  readonly data: string;
}
interface StructLog {
  readonly op: string;
  readonly stack?: readonly string[];
}

const hexBytes = (hex: string): Buffer => Buffer.from(hex.replace(/^0x/, "").padStart(2, "0"), "hex");

/** A stack item (hex, with or without 0x, any length) as a 32-byte word. */
function stackWord(item: string): Buffer {
  const digits = item.replace(/^0x/, "").replace(/^0+/, "") || "0";
  return Buffer.from(digits.padStart(64, "0"), "hex");
}

/** How many blocks, transactions, logs and storage writes a chain scan read. */
export interface ChainScanStats {
  blocks: number;
  transactions: number;
  logs: number;
  storageWrites: number;
}

/**
 * Everything the chain at `url` holds, as chunks: each transaction's input, each log's topics and data, and each
 * SSTORE's slot and value (debug_traceTransaction, struct logs, memory and storage off).
 */
export async function chainChunks(url: string): Promise<{ chunks: Chunk[]; stats: ChainScanStats }> {
  const chunks: Chunk[] = [];
  const stats: ChainScanStats = { blocks: 0, transactions: 0, logs: 0, storageWrites: 0 };
  const latest = Number(await rpc<string>(url, "eth_blockNumber"));
  for (let n = 0; n <= latest; n += 1) {
    const block = await rpc<{ transactions: RpcTransaction[]; extraData: string }>(url, "eth_getBlockByNumber", [
      toBeHex(n),
      true,
    ]);
    stats.blocks += 1;
    chunks.push({ where: `block ${n} extraData`, bytes: hexBytes(block.extraData) });
    for (const tx of block.transactions) {
      stats.transactions += 1;
      chunks.push({ where: `tx ${tx.hash} input`, bytes: hexBytes(tx.input) });
      const receipt = await rpc<{ logs: RpcLog[] }>(url, "eth_getTransactionReceipt", [tx.hash]);
      for (const [i, log] of receipt.logs.entries()) {
        stats.logs += 1;
        chunks.push({
          where: `tx ${tx.hash} log ${i}`,
          bytes: Buffer.concat([...log.topics.map(hexBytes), hexBytes(log.data)]),
        });
      }
      const trace = await rpc<{ structLogs: StructLog[] }>(url, "debug_traceTransaction", [
        tx.hash,
        { disableMemory: true, disableStorage: true, disableStack: false },
      ]);
      const writes: Buffer[] = [];
      for (const step of trace.structLogs) {
        if (step.op !== "SSTORE" || step.stack === undefined || step.stack.length < 2) continue;
        const stack = step.stack;
        writes.push(stackWord(stack[stack.length - 1]), stackWord(stack[stack.length - 2]));
        stats.storageWrites += 1;
      }
      // Each write is looked at alone (slot, value), so that no needle is found across two writes.
      for (let i = 0; i < writes.length; i += 2) {
        chunks.push({ where: `tx ${tx.hash} sstore ${i / 2}`, bytes: Buffer.concat([writes[i], writes[i + 1]]) });
      }
    }
  }
  return { chunks, stats };
}

/** Every file under `root` (its bytes) and every file's and folder's name (its path relative to `root`). */
export function fileChunks(root: string): Chunk[] {
  const chunks: Chunk[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const rel = relative(root, path);
      chunks.push({ where: `name of ${rel}`, bytes: Buffer.from(rel, "utf8") });
      if (statSync(path).isDirectory()) walk(path);
      else chunks.push({ where: `file ${rel}`, bytes: readFileSync(path) });
    }
  };
  walk(root);
  return chunks;
}
