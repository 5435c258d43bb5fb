import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { privateKeyBytes, type PrivateKeyLike } from "../crypto";
import { PipelineError } from "./errors";
import type { RecordAnchor, StateAnchor } from "./reader";

/**
 * The pipeline's own index of one twin, persisted as one file per twin, sealed under a key derived from the
 * custodian's key (see {@link TwinIndexFolder}; plain `<twin id>.json` files of earlier versions are migrated on open):
 *
 * ```
 * <folder, 0700>/<HMAC(index key, twin id), 64 hex>.twin   sealed { "format": "twinledger-pipeline-twin/1", ... }   (0600)
 * ```
 *
 * It holds what the chain and the stores cannot say: which blob holds which record, the anchor of
 * each, the batches with their roots, the engine's apply log (to rebuild the same versions
 * after a restart), the committed states and the reader grants. It holds no health data and no
 * key: records, readings and the readings' salts live only inside the encrypted blobs (a batch's
 * tree is rebuilt from its blob and checked against the anchored root). Record keys
 * (`Condition/<id>`, `Patient/<hospital id>`), categories, content ids, hashes, roots and batch time ranges are the
 * metadata it keeps, readable only with the custodian's key; erasure rewrites it as {@link erasedTwinIndex}.
 */
export const TWIN_INDEX_FORMAT = "twinledger-pipeline-twin/1";

/** One EMR record as stored and anchored. */
export interface RecordEntry {
  /** `ResourceType/id`; with the twin and category, the AAD of its envelope. */
  readonly key: string;
  readonly category: number;
  /** How many readings the record carries (so vitals can be found without decrypting everything). */
  readonly readingCount: number;
  /**
   * Its anchor with the proof (kind "records": a leaf of the ingest's record batch, so a restart has every proof
   * without rebuilding trees), or, for records anchored before record batches, kind "update".
   */
  readonly anchor: RecordAnchor;
  /** The source address that anchored it. */
  readonly source: string;
  /** The record's content digest (see `recordContentDigest`), so that a re-ingest of it unchanged is skipped. */
  readonly digest?: string;
}

/** One anchored batch of wearable readings: one encrypted blob, one Merkle root. */
export interface BatchEntry {
  /** The batch's record key in its envelope context, `wearable-batch/<n>`. */
  readonly key: string;
  readonly cid: string;
  readonly contentHash: string;
  readonly merkleRoot: string;
  readonly count: number;
  /** First and last reading time in seconds, as anchored. */
  readonly from: number;
  readonly to: number;
  readonly blockNumber: number;
  readonly transactionHash: string;
  readonly source: string;
}

/** Readings received but not yet batched, kept encrypted in an intake blob until the flush. */
export interface IntakeEntry {
  /** `wearable-intake/<n>`. */
  readonly key: string;
  readonly cid: string;
  readonly count: number;
  /** When the service received them (epoch ms): the batch's age counts from the oldest intake. */
  readonly receivedAt: number;
}

/** One `engine.apply`, replayed in order on restart. */
export interface ApplyEntry {
  readonly version: number;
  readonly stateRoot: string;
  /** Content ids of the record blobs (EMR records) applied. */
  readonly records: readonly string[];
  /** Keys of the batches applied. */
  readonly batches: readonly string[];
}

/** A reader granted categories of the twin; new records in those categories are sealed for it too. */
export interface GrantEntry {
  readonly reader: string;
  /** The reader's public key as hex (compressed or not). */
  readonly publicKey: string;
  readonly categoryMask: number;
  /** The grant's window in seconds, as on chain; new records are sealed for the reader until `validUntil`. */
  readonly validFrom?: number;
  readonly validUntil?: number;
}

export interface TwinIndex {
  readonly format: typeof TWIN_INDEX_FORMAT;
  readonly twinId: string;
  /** ISO time of the service-side erasure, or null. */
  erasedAt: string | null;
  /** Counters for batch and intake keys. */
  nextBatch: number;
  nextIntake: number;
  readonly records: RecordEntry[];
  readonly batches: BatchEntry[];
  intakes: IntakeEntry[];
  readonly applies: ApplyEntry[];
  readonly states: StateAnchor[];
  grants: GrantEntry[];
  /** Keyed digest of the twin's patient (see patient-link.ts), set by the first EMR ingest that names one. */
  patientLink?: string;
}

export function emptyTwinIndex(twinId: string): TwinIndex {
  return {
    format: TWIN_INDEX_FORMAT,
    twinId: twinId.toLowerCase(),
    erasedAt: null,
    nextBatch: 1,
    nextIntake: 1,
    records: [],
    batches: [],
    intakes: [],
    applies: [],
    states: [],
    grants: [],
  };
}

/** The format of an index file sealed under the custodian's index key (see {@link TwinIndexFolder}). */
export const SEALED_TWIN_INDEX_FORMAT = "twinledger-pipeline-twin-sealed/1";
const SEALED_SUFFIX = ".twin";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Reads and writes twin indexes in a folder (0700), each file (0600) replaced atomically (temporary file, fsync,
 * rename).
 *
 * With a `key` (the pipeline derives it from the custodian's key, see `indexKeyOf`), each index is sealed:
 * `<folder>/<HMAC-SHA-256(key, twin id), 64 hex>.twin` holding `nonce(12) ‖ AES-256-GCM(JSON) ‖ tag(16)`, with the
 * format name as associated data. Neither the file name nor its content says which twin, which records (their FHIR
 * keys), which readers or which patient link it holds to whoever reads the folder without the custodian's key.
 * Plain `<twin id>.json` files written before are read and rewritten sealed on `loadAll` (migrated on open).
 */
export class TwinIndexFolder {
  readonly root: string;
  readonly #fsync: boolean;
  readonly #key: Uint8Array | undefined;

  constructor(root: string, options: { fsync?: boolean; key?: Uint8Array } = {}) {
    this.root = resolve(root);
    this.#fsync = options.fsync ?? true;
    if (options.key !== undefined && options.key.length !== 32) {
      throw new PipelineError("INVALID_OPTIONS", "the index key must be 32 bytes");
    }
    this.#key = options.key;
  }

  /** Every twin index in the folder. Throws `INDEX_CORRUPT` for an unreadable file. */
  async loadAll(): Promise<TwinIndex[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new PipelineError("INDEX_CORRUPT", "cannot list the pipeline index folder", { cause });
    }
    const indexes: TwinIndex[] = [];
    const sealed = new Set<string>();
    if (this.#key !== undefined) {
      for (const name of names.filter((n) => /^[0-9a-f]{64}\.twin$/.test(n)).sort()) {
        const index = this.#open(await readFile(join(this.root, name)), name);
        sealed.add(index.twinId);
        indexes.push(upgraded(index));
      }
    }
    for (const name of names.filter((n) => /^[0-9a-f]{64}\.json$/.test(n)).sort()) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(await readFile(join(this.root, name), "utf8"));
      } catch (cause) {
        throw new PipelineError("INDEX_CORRUPT", `the index of twin 0x${name.slice(0, 64)} is unreadable`, { cause });
      }
      const index = parsed as TwinIndex;
      if (index?.format !== TWIN_INDEX_FORMAT || index.twinId !== `0x${name.slice(0, 64)}`) {
        throw new PipelineError("INDEX_CORRUPT", `the index of twin 0x${name.slice(0, 64)} has another format`);
      }
      if (this.#key === undefined) {
        indexes.push(upgraded(index));
        continue;
      }
      // migrate: seal it, then remove the plain file (a sealed copy written before a crash wins)
      if (!sealed.has(index.twinId)) {
        await this.save(index);
        indexes.push(upgraded(index));
      }
      await unlink(join(this.root, name)).catch(() => undefined);
    }
    return indexes;
  }

  /** Write a twin's index atomically (sealed when the folder has a key). */
  async save(index: TwinIndex): Promise<void> {
    if (this.#key === undefined) {
      const path = join(this.root, `${index.twinId.slice(2)}.json`);
      await writeAtomic(path, utf8.encode(JSON.stringify(index)), this.#fsync);
      return;
    }
    const name = createHmac("sha256", this.#key).update(index.twinId.toLowerCase()).digest("hex") + SEALED_SUFFIX;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(utf8.encode(SEALED_TWIN_INDEX_FORMAT));
    const body = Buffer.concat([cipher.update(JSON.stringify(index), "utf8"), cipher.final()]);
    await writeAtomic(join(this.root, name), Buffer.concat([nonce, body, cipher.getAuthTag()]), this.#fsync);
  }

  #open(bytes: Buffer, name: string): TwinIndex {
    let index: TwinIndex;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.#key as Uint8Array, bytes.subarray(0, NONCE_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(utf8.encode(SEALED_TWIN_INDEX_FORMAT));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      const text = Buffer.concat([
        decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]).toString("utf8");
      index = JSON.parse(text) as TwinIndex;
    } catch (cause) {
      throw new PipelineError("INDEX_CORRUPT", `the sealed index ${name} does not open with the custodian's key`, {
        cause,
      });
    }
    const expected = createHmac("sha256", this.#key as Uint8Array)
      .update(String(index?.twinId))
      .digest("hex");
    if (index?.format !== TWIN_INDEX_FORMAT || `${expected}${SEALED_SUFFIX}` !== name) {
      throw new PipelineError("INDEX_CORRUPT", `the sealed index ${name} has another format or twin`);
    }
    return index;
  }
}

const utf8 = new TextEncoder();

/**
 * What is kept of an erased twin's index: the erasure time and what is anchored on chain (roots, content hashes,
 * CIDs, categories, states, as `anchors()` answers), nothing that links the twin to the hospital (record keys such as
 * `Patient/<id>`, the patient link, the content digests), no readers and no apply log.
 */
export function erasedTwinIndex(index: TwinIndex, erasedAt: string): TwinIndex {
  return {
    format: TWIN_INDEX_FORMAT,
    twinId: index.twinId,
    erasedAt,
    nextBatch: index.nextBatch,
    nextIntake: index.nextIntake,
    records: index.records.map((entry) => ({
      key: "",
      category: entry.category,
      readingCount: 0,
      anchor: entry.anchor,
      source: entry.source,
    })),
    batches: index.batches,
    intakes: [],
    applies: [],
    states: index.states,
    grants: [],
  };
}

/**
 * An index written before v2 of the contracts: its states have no chain version or epoch (v1 counted versions per
 * twin, so the chain version was the engine's, in one epoch). Records anchored by `recordUpdate` keep their kind.
 */
function upgraded(index: TwinIndex): TwinIndex {
  const states = index.states as (Omit<StateAnchor, "chainVersion" | "epoch"> & Partial<StateAnchor>)[];
  states.forEach((state, i) => {
    if (state.chainVersion === undefined || state.epoch === undefined) {
      index.states[i] = { ...state, chainVersion: state.chainVersion ?? state.version, epoch: state.epoch ?? 1 };
    }
  });
  return index;
}

async function writeAtomic(path: string, bytes: Uint8Array, fsync: boolean): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const handle = await open(temp, "wx", 0o600);
  try {
    try {
      await handle.writeFile(bytes);
      if (fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (cause) {
    await unlink(temp).catch(() => undefined);
    throw new PipelineError("INDEX_CORRUPT", `cannot write the pipeline index ${basename(path)}`, { cause });
  }
}

/** The key that seals the pipeline's index files: HMAC-SHA-256 of the custodian's key, domain separated. */
export function indexKeyOf(custodianKey: PrivateKeyLike): Uint8Array {
  return new Uint8Array(
    createHmac("sha256", privateKeyBytes(custodianKey)).update("twinledger/pipeline-index/1").digest(),
  );
}
