import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { getAddress } from "ethers";
import { isFsError, writeFileAtomic } from "./atomic-file";
import { StoreError } from "./errors";
import { ERASED_FILE, io, KEY_SUFFIX, parseErasure } from "./folder-key-layout";
import { encodeKeyFile } from "./key-pack";

/** Layout written before opaque names: `<twin id hex>/records/<cid>/<reader lowercase>.wkey`, the raw wrapped key. */
export const LEGACY_TWIN_DIR = /^[0-9a-f]{64}$/;
const LEGACY_KEY_FILE = /^0x[0-9a-f]{40}\.wkey$/;

/** @internal What the migration needs of the store. */
export interface LegacyMigrationHost {
  readonly root: string;
  readonly fsync: boolean;
  keyPath(twinId: string, recordCid: string, reader: string): Promise<string>;
  readErasure(twinId: string): Promise<{ erasedAt: string } | undefined>;
  writeErasure(twinId: string, erasedAt: string): Promise<void>;
  destroyKeys(twinId: string): Promise<number>;
  list(dir: string): Promise<string[]>;
}

/**
 * @internal Migrate one twin's clear-named folder, if any: each key is rewritten under its opaque name before the
 * clear one is deleted, so a crash loses nothing and the next access resumes. A twin erased in the old layout keeps
 * its erasure time and its remaining clear-named keys are deleted, not moved.
 */
export async function migrateLegacyTwin(host: LegacyMigrationHost, twinId: string): Promise<void> {
  const legacyDir = join(host.root, twinId.slice(2));
  const what = `cannot migrate the key folder of twin ${twinId}`;
  let legacyErasedAt: string | undefined;
  try {
    legacyErasedAt = parseErasure(await readFile(join(legacyDir, ERASED_FILE), "utf8"));
  } catch (cause) {
    if (!isFsError(cause, "ENOENT")) throw new StoreError("STORE_IO", what, { cause });
  }
  if (legacyErasedAt !== undefined) {
    if (!(await host.readErasure(twinId))) await host.writeErasure(twinId, legacyErasedAt);
  } else {
    const recordsDir = join(legacyDir, "records");
    for (const recordCid of await host.list(recordsDir)) {
      for (const name of await host.list(join(recordsDir, recordCid))) {
        if (!LEGACY_KEY_FILE.test(name)) continue;
        const old = join(recordsDir, recordCid, name);
        let wrappedKey: Uint8Array;
        try {
          wrappedKey = await readFile(old);
        } catch (cause) {
          if (isFsError(cause, "ENOENT")) continue; // moved by a concurrent migration
          throw new StoreError("STORE_IO", what, { cause });
        }
        const reader = getAddress(name.slice(0, -KEY_SUFFIX.length));
        const path = await host.keyPath(twinId, recordCid, reader);
        const bytes = encodeKeyFile({ reader, recordCid, wrappedKey });
        await io(what, () => writeFileAtomic(path, bytes, { mode: 0o600, fsync: host.fsync }));
        await io(what, () => rm(old, { force: true }));
      }
    }
  }
  await io(what, () => rm(legacyDir, { recursive: true, force: true }));
  // an erasure by another process while we were moving keys: our moved keys must not survive it
  if (await host.readErasure(twinId)) await host.destroyKeys(twinId);
}
