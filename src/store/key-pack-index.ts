import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { isFsError } from "./atomic-file";
import { KEY_PACK_SUFFIX } from "./folder-key-layout";
import { decodeKeyPack, KeyPackDamaged, type KeyPack } from "./key-pack";
import { listPacks } from "./pack-file";

/** A wrapped key found in a pack. */
export interface PackedKey {
  readonly pack: string;
  readonly recordCid: string;
  readonly reader: string;
  /** A view into the pack's bytes: copy before handing it out. */
  readonly wrappedKey: Uint8Array;
}

/**
 * @internal The key packs of one twin (`<twin folder>/packs/*.wkpack`) as loaded in memory: every pack's entries,
 * and for each (record, reader) the entry of the latest pack holding it. `sync` lists the folder again, loading the
 * packs another process (or this one) added and forgetting those deleted or rewritten, so a revocation elsewhere is
 * seen at the next call. Packs that cannot be decoded are counted in `damaged`.
 */
export class TwinKeyPacks {
  readonly dir: string;
  readonly #packs = new Map<string, KeyPack>();
  readonly #damaged = new Set<string>();
  #latest: Map<string, PackedKey> | undefined;
  #syncing: Promise<void> = Promise.resolve();

  constructor(dir: string) {
    this.dir = dir;
  }

  /** List the pack folder: load new packs, forget vanished ones. Calls run one after another. */
  sync(): Promise<void> {
    const next = this.#syncing.catch(() => undefined).then(() => this.#load());
    this.#syncing = next;
    return next;
  }

  /** Number of damaged packs in the folder. */
  get damaged(): number {
    return this.#damaged.size;
  }

  /** Number of entries held in memory (the cache's measure). */
  get size(): number {
    let size = 1;
    for (const pack of this.#packs.values()) size += pack.entries.length;
    return size;
  }

  /** The path of a pack. */
  path(name: string): string {
    return join(this.dir, name + KEY_PACK_SUFFIX);
  }

  /** A pack as loaded. */
  pack(name: string): KeyPack | undefined {
    return this.#packs.get(name);
  }

  add(name: string, pack: KeyPack): void {
    this.#packs.set(name, pack);
    this.#latest = undefined;
  }

  drop(name: string): void {
    this.#damaged.delete(name);
    if (this.#packs.delete(name)) this.#latest = undefined;
  }

  /** The latest wrapped key of a record for a reader. */
  lookup(recordCid: string, reader: string): PackedKey | undefined {
    return this.#byRef().get(refKey(recordCid, reader));
  }

  /** The packs holding an entry for a record and reader (any, not only the latest). */
  holding(recordCid: string, reader: string): string[] {
    const names: string[] = [];
    for (const [name, pack] of this.#packs) {
      if (pack.entries.some((entry) => entry.recordCid === recordCid && entry.reader === reader)) names.push(name);
    }
    return names;
  }

  /** Every (record, reader) with a key in some pack, once each. */
  keys(): IterableIterator<PackedKey> {
    return this.#byRef().values();
  }

  #byRef(): Map<string, PackedKey> {
    if (this.#latest) return this.#latest;
    const latest = new Map<string, PackedKey>();
    const ordered = [...this.#packs].sort(([a, x], [b, y]) => x.writtenAt - y.writtenAt || (a < b ? -1 : 1));
    for (const [pack, { entries }] of ordered) {
      for (const { recordCid, reader, wrappedKey } of entries) {
        latest.set(refKey(recordCid, reader), { pack, recordCid, reader, wrappedKey });
      }
    }
    this.#latest = latest;
    return latest;
  }

  async #load(): Promise<void> {
    // a pack rewritten between the listing and its read: its successor may not have been listed yet, list again
    for (let attempt = 0; attempt < 5 && !(await this.#loadOnce()); attempt++);
  }

  /** One listing and load; false when a listed pack had gone by the time it was read. */
  async #loadOnce(): Promise<boolean> {
    const names = await listPacks(this.dir, KEY_PACK_SUFFIX);
    const present = new Set(names);
    for (const known of [...this.#packs.keys(), ...this.#damaged]) if (!present.has(known)) this.drop(known);
    let complete = true;
    for (const name of names) {
      if (this.#packs.has(name) || this.#damaged.has(name)) continue;
      try {
        this.add(name, decodeKeyPack(await readFile(this.path(name))));
      } catch (error) {
        if (error instanceof KeyPackDamaged) this.#damaged.add(name);
        else if (isFsError(error, "ENOENT")) complete = false;
        else throw error;
      }
    }
    return complete;
  }
}

function refKey(recordCid: string, reader: string): string {
  return recordCid + "/" + reader;
}
