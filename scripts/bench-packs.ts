/**
 * Side-by-side timing of a large ingest's writes, one file per blob and key (before) against one pack (after), in
 * one process, back to back, fsync off and on:
 *
 *   node -r ts-node/register/transpile-only scripts/bench-packs.ts [blobs=20000]
 *
 * "Before" is what `putMany` did until the packs: `writeFilesAtomic` of one file per blob (`<shard>/<cid>`) and per
 * key (`<T>/<R>/<K>.wkey`, three HMAC names each). Prints JSON (ms, files written, ratio before/after).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hexlify, Wallet } from "ethers";
import { publicKeyOf, wrapDataKey } from "../src/crypto";
import { cidOf, FolderKeyStore, LocalFolderBlobStore, type WrappedKeyEntry } from "../src/store";
import { writeFilesAtomic } from "../src/store/atomic-file";
import { opaqueName } from "../src/store/folder-key-layout";
import { encodeKeyFile } from "../src/store/key-pack";
import { normalizeEntry } from "../src/store/key-store";

const TWIN = "0x" + "ab".repeat(32);

async function countFiles(dir: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    count += entry.isDirectory() ? await countFiles(join(dir, entry.name)) : 1;
  }
  return count;
}

async function timed(action: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await action();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** The one-file-per-blob batch write that `LocalFolderBlobStore.putMany` did before packs. */
async function blobsBefore(root: string, blobs: readonly Uint8Array[], fsync: boolean): Promise<void> {
  const files = blobs.map((bytes) => {
    const cid = cidOf(bytes);
    return { path: join(root, cid.slice(7, 9), cid), bytes };
  });
  await writeFilesAtomic(files, { mode: 0o600, fsync });
}

/** The one-file-per-key batch write that `FolderKeyStore.putMany` did before packs (secret and twin set up once). */
async function keysBefore(root: string, entries: readonly WrappedKeyEntry[], fsync: boolean): Promise<void> {
  const secret = randomBytes(32);
  const files = entries.map((entry) => {
    const { twinId, recordCid, reader, wrappedKey } = normalizeEntry(entry, true);
    const record = twinId + recordCid;
    const path = join(
      root,
      opaqueName(secret, "twin:" + twinId),
      opaqueName(secret, "record:" + record),
      opaqueName(secret, "reader:" + record + reader.toLowerCase()) + ".wkey",
    );
    return { path, bytes: encodeKeyFile({ reader, recordCid, wrappedKey }) };
  });
  await writeFilesAtomic(files, { mode: 0o600, fsync });
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 20_000);
  const blobs = Array.from({ length: count }, () => randomBytes(600));
  const readers = [new Wallet(hexlify(randomBytes(32))), new Wallet(hexlify(randomBytes(32)))];
  const wrapped = readers.map((reader) => wrapDataKey(randomBytes(32), publicKeyOf(reader)));
  const cids = blobs.map((bytes) => cidOf(bytes));
  const entries: WrappedKeyEntry[] = cids.flatMap((recordCid) =>
    readers.map((reader, i) => ({ twinId: TWIN, recordCid, reader: reader.address, wrappedKey: wrapped[i] })),
  );
  const results = [];
  for (const fsync of [false, true]) {
    const dir = await mkdtemp(join(tmpdir(), "twinledger-pack-bench-"));
    try {
      const before = {
        blobsMs: await timed(() => blobsBefore(join(dir, "b0"), blobs, fsync)),
        keysMs: await timed(() => keysBefore(join(dir, "k0"), entries, fsync)),
        files: 0,
      };
      before.files = (await countFiles(join(dir, "b0"))) + (await countFiles(join(dir, "k0")));
      const blobStore = new LocalFolderBlobStore(join(dir, "b1"), { fsync });
      const keyStore = new FolderKeyStore(join(dir, "k1"), { fsync });
      await keyStore.countKeys(TWIN); // the store secret created, as "before" had it
      const after = {
        blobsMs: await timed(() => blobStore.putMany(blobs)),
        keysMs: await timed(() => keyStore.putMany(entries)),
        files: 0,
      };
      after.files = (await countFiles(join(dir, "b1"))) + (await countFiles(join(dir, "k1")));
      const ratio = (before.blobsMs + before.keysMs) / (after.blobsMs + after.keysMs);
      results.push({ fsync, blobs: count, keys: entries.length, before, after, ratio: Number(ratio.toFixed(1)) });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  console.log(JSON.stringify({ results, loadAverage: (await import("node:os")).loadavg() }, null, 2));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
