/**
 * Sealing benchmark (issue 11, defect 8): N records of B bytes for two readers, side by side in one process.
 *
 * - per record: what `sealRecord` did before format version 2: a fresh ephemeral key for every wrap (two scalar
 *   multiplications per record and reader) and noble's JavaScript keccak for the content hash;
 * - bulk: `sealRecords`, one ephemeral key per twin and reader for the call, the native keccak.
 *
 * Usage: `node -r ts-node/register/transpile-only scripts/bench-seal.ts [count=20000] [bytes=600] [rounds=2]`.
 * Prints JSON (wall and CPU seconds). Timings on a shared machine are noisy: compare the two ways within a round.
 */
import { randomBytes } from "node:crypto";
import { hexlify, Wallet } from "ethers";
import {
  encryptEnvelope,
  keccakBackend,
  openRecord,
  publicKeyOf,
  sealRecords,
  type RecordContext,
  type SealedRecord,
} from "../src/crypto";
import { bytesToHex, wipe } from "../src/crypto/bytes";
import { keccak256Noble } from "../src/crypto/keccak";
import { wrapToReader } from "../src/crypto/key-wrap";
import { secp256k1Backend } from "../src/crypto/native-secp256k1";
import { readerPoint } from "../src/crypto/reader-point-cache";

const [count, bytes, rounds] = [20_000, 600, 2].map((fallback, i) => Number(process.argv[2 + i] ?? fallback));
const twinId = "0x" + "7a".repeat(32);
const readers = [new Wallet(hexlify(randomBytes(32))), new Wallet(hexlify(randomBytes(32)))];
const readerKeys = readers.map((wallet) => publicKeyOf(wallet));
const records = Array.from({ length: count }, (_, i) => ({
  plaintext: randomBytes(bytes),
  context: { twinId, recordKey: `Observation/${i}`, category: 1 } satisfies RecordContext,
  readers: readerKeys,
}));

/** The sealing of the code before format version 2, one record at a time. */
function sealPerRecord(): SealedRecord[] {
  return records.map(({ plaintext, context }) => {
    const { envelope, dataKey } = encryptEnvelope(plaintext, context);
    const wrappedKeys = readerKeys.map((key) => {
      const reader = readerPoint(key);
      return { reader: reader.address, wrappedKey: wrapToReader(dataKey, reader) };
    });
    wipe(dataKey);
    return { envelope, contentHash: bytesToHex(keccak256Noble(envelope)), wrappedKeys };
  });
}

function timed(seal: () => SealedRecord[]): { seconds: number; cpuSeconds: number; sealed: SealedRecord[] } {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const sealed = seal();
  const { user, system } = process.cpuUsage(cpu);
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, cpuSeconds: (user + system) / 1e6, sealed };
}

const results: Record<string, number>[] = [];
for (let round = 0; round < rounds; round++) {
  global.gc?.();
  const perRecord = timed(sealPerRecord);
  global.gc?.();
  const bulk = timed(() => sealRecords(records));
  const last = count - 1;
  const opened = openRecord(
    bulk.sealed[last].envelope,
    bulk.sealed[last].wrappedKeys[1].wrappedKey,
    readers[1],
    records[last].context,
  );
  if (Buffer.compare(opened, records[last].plaintext) !== 0) throw new Error("bulk seal does not open");
  results.push({
    round,
    perRecordSeconds: round3(perRecord.seconds),
    bulkSeconds: round3(bulk.seconds),
    ratio: round3(perRecord.seconds / bulk.seconds),
    perRecordCpuSeconds: round3(perRecord.cpuSeconds),
    bulkCpuSeconds: round3(bulk.cpuSeconds),
    cpuRatio: round3(perRecord.cpuSeconds / bulk.cpuSeconds),
  });
}
console.log(
  JSON.stringify({ count, bytes, readers: 2, secp256k1: secp256k1Backend(), keccak: keccakBackend(), results }),
);

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
