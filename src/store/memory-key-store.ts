import { StoreError } from "./errors";
import {
  normalizeEntry,
  normalizeRef,
  normalizeTwinId,
  twinErased,
  type ErasureReceipt,
  type KeyStore,
  type WrappedKeyEntry,
  type WrappedKeyRef,
} from "./key-store";
import { parseCid } from "./cid";

interface TwinKeys {
  erasedAt?: string;
  /** recordCid → reader address → wrapped key */
  readonly records: Map<string, Map<string, Uint8Array>>;
}

/** A {@link KeyStore} in memory, for tests and short-lived tools. Stores and returns copies. */
export class MemoryKeyStore implements KeyStore {
  readonly #twins = new Map<string, TwinKeys>();

  async put(entry: WrappedKeyEntry): Promise<void> {
    const { twinId, recordCid, reader, wrappedKey } = normalizeEntry(entry);
    const twin = this.#twin(twinId, true)!;
    if (twin.erasedAt) throw twinErased(twinId, twin.erasedAt);
    let readers = twin.records.get(recordCid);
    if (!readers) twin.records.set(recordCid, (readers = new Map()));
    readers.set(reader, Uint8Array.from(wrappedKey));
  }

  async get(ref: WrappedKeyRef): Promise<Uint8Array> {
    const { twinId, recordCid, reader } = normalizeRef(ref);
    const twin = this.#twin(twinId);
    if (twin?.erasedAt) throw twinErased(twinId, twin.erasedAt);
    const wrapped = twin?.records.get(recordCid)?.get(reader);
    if (!wrapped) throw new StoreError("KEY_NOT_FOUND", `no wrapped key for record ${recordCid} and reader ${reader}`);
    return Uint8Array.from(wrapped);
  }

  async has(ref: WrappedKeyRef): Promise<boolean> {
    const { twinId, recordCid, reader } = normalizeRef(ref);
    return this.#twin(twinId)?.records.get(recordCid)?.has(reader) ?? false;
  }

  async remove(ref: WrappedKeyRef): Promise<boolean> {
    const { twinId, recordCid, reader } = normalizeRef(ref);
    const readers = this.#twin(twinId)?.records.get(recordCid);
    const wrapped = readers?.get(reader);
    if (!readers || !wrapped) return false;
    wrapped.fill(0);
    readers.delete(reader);
    if (readers.size === 0) this.#twin(twinId)!.records.delete(recordCid);
    return true;
  }

  async readers(twinId: string, recordCid: string): Promise<string[]> {
    parseCid(recordCid);
    return [...(this.#twin(normalizeTwinId(twinId))?.records.get(recordCid)?.keys() ?? [])].sort();
  }

  async records(twinId: string): Promise<string[]> {
    return [...(this.#twin(normalizeTwinId(twinId))?.records.keys() ?? [])].sort();
  }

  async countKeys(twinId: string): Promise<number> {
    let count = 0;
    for (const readers of this.#twin(normalizeTwinId(twinId))?.records.values() ?? []) count += readers.size;
    return count;
  }

  async destroyAllForTwin(twinId: string): Promise<ErasureReceipt> {
    const id = normalizeTwinId(twinId);
    const twin = this.#twin(id, true)!;
    twin.erasedAt ??= new Date().toISOString();
    let destroyedKeys = 0;
    for (const readers of twin.records.values()) {
      for (const wrapped of readers.values()) {
        wrapped.fill(0);
        destroyedKeys += 1;
      }
    }
    twin.records.clear();
    return { twinId: id, erasedAt: twin.erasedAt, destroyedKeys };
  }

  async erasure(twinId: string): Promise<{ twinId: string; erasedAt: string } | undefined> {
    const id = normalizeTwinId(twinId);
    const erasedAt = this.#twin(id)?.erasedAt;
    return erasedAt ? { twinId: id, erasedAt } : undefined;
  }

  #twin(twinId: string, create = false): TwinKeys | undefined {
    let twin = this.#twins.get(twinId);
    if (!twin && create) this.#twins.set(twinId, (twin = { records: new Map() }));
    return twin;
  }
}
