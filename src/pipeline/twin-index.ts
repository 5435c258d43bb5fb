import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { readdir, readFile, unlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { privateKeyBytes, type PrivateKeyLike } from "../crypto";
import {
  PostgresSealedIndexStore,
  SqliteSealedIndexStore,
  SqlStoreError,
  type SealedDocument,
  type SealedIndexStore,
} from "../store/sql";
import { PipelineError } from "./errors";
import type { PendingAnchor, PendingBatches } from "./pipeline-types";
import type { StateAnchor, UpdateAnchor } from "./reader";
import { FORMAT_V1, migratedFromV1, type TwinIndexV1 } from "./twin-index-migration";

/**
 * The pipeline's own index of one twin, persisted as one sealed row per twin in a SQL store, sealed under a key
 * derived from the custodian's key (see {@link TwinIndexFolder}; the index files of earlier versions are migrated on
 * open):
 *
 * ```
 * <folder, 0700>/index.sqlite (0600), or PostgreSQL   sealed_index(owner, name = HMAC(index key, twin id), body =
 *                                                     sealed { "format": "twinledger-pipeline-twin/2", ... })
 * ```
 *
 * It holds what the chain and the stores cannot say: which blob holds which record, the anchor of
 * each, the batches with their roots, the engine's apply log (to rebuild the same versions
 * after a restart), the committed states and the reader grants. It holds no health data and no
 * key: records, readings and the readings' salts live only inside the encrypted blobs (a batch's
 * tree is rebuilt from its blob and checked against the anchored root). Record keys
 * (`Condition/<id>`, `Patient/<hospital id>`), categories, content ids, hashes, roots and batch time ranges are the
 * metadata it keeps, readable only with the custodian's key; erasure rewrites it as {@link erasedTwinIndex}.
 *
 * Format /2 keeps one {@link RecordBatchEntry} per record batch and, per record, only a reference to its leaf: no
 * Merkle proof is stored (in /1 the per-record proofs were two-thirds of the index). A batch's tree is rebuilt from
 * its records' entries when a proof is asked for, checked against the anchored root and kept in a bounded cache (see
 * record-proofs.ts). A /1 index is migrated on open (twin-index-migration.ts).
 */
export const TWIN_INDEX_FORMAT = "twinledger-pipeline-twin/2";

/** One EMR record as stored and anchored. */
export interface RecordEntry {
  /** `ResourceType/id`; with the twin and category, the AAD of its envelope. */
  readonly key: string;
  readonly category: number;
  /** How many readings the record carries (so vitals can be found without decrypting everything). */
  readonly readingCount: number;
  /**
   * Where it is anchored: a leaf of one of the twin's record batches (kind "records", no proof: see
   * `recordAnchorsOf`), or, for records anchored before record batches, the whole v1 update anchor (kind "update").
   */
  readonly anchor: RecordLeafRef | UpdateAnchor;
  /** The source address that anchored a v1 update; a batch's records have their batch's ({@link RecordBatchEntry}). */
  readonly source?: string;
  /** The record's content digest (see `recordContentDigest`), so that a re-ingest of it unchanged is skipped. */
  readonly digest?: string;
}

/** A record's leaf in a record batch: its batch (a position in `TwinIndex.recordBatches`) and the leaf values. */
export interface RecordLeafRef {
  readonly kind: "records";
  /** The position of its batch in `recordBatches`. */
  readonly batch: number;
  /** Its position among the batch's records, as given to `buildRecordTree` (the order the batch was anchored in). */
  readonly leaf: number;
  /** keccak256 of the encrypted envelope (a leaf value). */
  readonly contentHash: string;
  /** The envelope's CIDv1 (base32 string); keccak256 of its bytes is the leaf's third value. */
  readonly cid: string;
}

/**
 * One record batch anchored by `anchorRecords` (one EMR ingest): everything of its records' `RecordsAnchor` but the
 * leaf values and the proof. Its leaves are its records' entries (category, content hash, cid) in leaf order.
 */
export interface RecordBatchEntry {
  /** The batch's sequence in the twin's hash chain (decimal string: uint64). */
  readonly sequence: string;
  readonly recordsRoot: string;
  /** Checksummed address of the source that anchored the batch. */
  readonly source: string;
  /** How many records (leaves) the batch holds. */
  readonly leafCount: number;
  readonly blockNumber: number;
  readonly transactionHash: string;
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
  /** Content ids of the record blobs (EMR records) applied, when they are not one whole record batch. */
  readonly records?: readonly string[];
  /** The records applied are those of this record batch (a position in `recordBatches`), in leaf order. */
  readonly recordBatch?: number;
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
  /** The record batches the records' anchors refer to, in the order anchored. */
  readonly recordBatches: RecordBatchEntry[];
  readonly batches: BatchEntry[];
  intakes: IntakeEntry[];
  readonly applies: ApplyEntry[];
  readonly states: StateAnchor[];
  grants: GrantEntry[];
  /** Keyed digest of the twin's patient (see patient-link.ts), set by the first EMR ingest that names one. */
  patientLink?: string;
  /** Anchors sent or about to be sent whose outcome is not known yet (see recovery.ts). */
  pendingAnchors?: (PendingAnchor | PendingBatches)[];
}

export function emptyTwinIndex(twinId: string): TwinIndex {
  return {
    format: TWIN_INDEX_FORMAT,
    twinId: twinId.toLowerCase(),
    erasedAt: null,
    nextBatch: 1,
    nextIntake: 1,
    records: [],
    recordBatches: [],
    batches: [],
    intakes: [],
    applies: [],
    states: [],
    grants: [],
  };
}

/** The format of an index sealed under the custodian's index key (see {@link TwinIndexFolder}). */
export const SEALED_TWIN_INDEX_FORMAT = "twinledger-pipeline-twin-sealed/1";
/** The SQLite file of the indexes, in the index folder (the embedded default). */
export const TWIN_INDEX_DATABASE = "index.sqlite";
const SEALED_SUFFIX = ".twin";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** How much of an index's JSON (UTF-16 code units) is encrypted per cipher call when it is sealed. */
const SEAL_SLICE_CHARS = 1 << 20;

export interface TwinIndexFolderOptions {
  /** SQLite: `synchronous = FULL`, each save durable against a power loss. Default true. */
  readonly fsync?: boolean;
  /** The custodian's index key (32 bytes, `indexKeyOf`): each index sealed under it, named by a keyed digest. */
  readonly key?: Uint8Array;
  /** A PostgreSQL URL: the indexes live there instead of `<folder>/index.sqlite`. */
  readonly databaseUrl?: string;
}

/**
 * Reads and writes twin indexes in a SQL store (src/store/sql): `<folder, 0700>/index.sqlite` (0600) by default, or
 * a PostgreSQL database (`databaseUrl`). One row per twin, replaced in one statement on every save.
 *
 * With a `key` (the pipeline derives it from the custodian's key, see `indexKeyOf`), each index is sealed: its row
 * is named `HMAC-SHA-256(key, twin id)` (64 hex) and holds `nonce(12) ‖ AES-256-GCM(JSON) ‖ tag(16)` with the format
 * name as associated data, under an owner id that is a keyed digest too (pipelines of several custodians may share
 * one database). Neither a name nor a body says which twin, which records (their FHIR keys), which readers or which
 * patient link it holds to whoever reads the database without the custodian's key.
 *
 * Index files of earlier versions in the folder (sealed `<HMAC>.twin`, plain `<twin id>.json`) are moved into the
 * store once, on first use: written in one transaction (never over a row saved since), then deleted.
 */
export class TwinIndexFolder {
  readonly root: string;
  readonly #fsync: boolean;
  readonly #key: Uint8Array | undefined;
  readonly #databaseUrl: string | undefined;
  #store: SealedIndexStore | null = null;
  #migrated: Promise<void> | null = null;

  constructor(root: string, options: TwinIndexFolderOptions = {}) {
    this.root = resolve(root);
    this.#fsync = options.fsync ?? true;
    if (options.key !== undefined && options.key.length !== 32) {
      throw new PipelineError("INVALID_OPTIONS", "the index key must be 32 bytes");
    }
    this.#key = options.key;
    this.#databaseUrl = options.databaseUrl;
  }

  /**
   * Every twin index. Throws `INDEX_CORRUPT` for one that does not open. Indexes of format /1 are migrated to /2
   * (twin-index-migration.ts) and written back, but only once every one has migrated: a record batch that does not
   * give its anchored root throws `INDEX_CORRUPT` with nothing replaced.
   */
  async loadAll(): Promise<TwinIndex[]> {
    const store = await this.#ready();
    const documents = await store.loadAll(this.#owner());
    const stored = documents.map((d) => upgraded(this.#unseal(d)));
    const indexes = stored.map((index) => (index.format === FORMAT_V1 ? migratedFromV1(index) : index));
    for (const [i, index] of indexes.entries()) {
      if (stored[i].format === FORMAT_V1) await store.put(this.#owner(), this.#seal(index));
    }
    return indexes;
  }

  /** Writes a twin's index (sealed when the folder has a key), replacing the previous one. */
  async save(index: TwinIndex): Promise<void> {
    const store = await this.#ready();
    await store.put(this.#owner(), this.#seal(index));
  }

  /** Closes the store (a later call opens it again). */
  async close(): Promise<void> {
    const store = this.#store;
    this.#store = null;
    this.#migrated = null;
    await store?.close();
  }

  #ready(): Promise<SealedIndexStore> {
    if (this.#store === null) {
      try {
        this.#store =
          this.#databaseUrl !== undefined
            ? new PostgresSealedIndexStore({ url: this.#databaseUrl })
            : new SqliteSealedIndexStore(join(this.root, TWIN_INDEX_DATABASE), { fsync: this.#fsync });
      } catch (cause) {
        if (cause instanceof SqlStoreError) {
          throw new PipelineError("INDEX_CORRUPT", "cannot open the pipeline index database", { cause });
        }
        throw cause;
      }
    }
    const store = this.#store;
    this.#migrated ??= this.#migrateFiles(store).catch((error: unknown) => {
      this.#migrated = null;
      throw error;
    });
    return this.#migrated.then(() => store);
  }

  /** The owner id of this folder's rows: a keyed digest of the custodian's index key, or `plain`. */
  #owner(): string {
    if (this.#key === undefined) return "plain";
    return createHmac("sha256", this.#key).update("twinledger/pipeline-index/owner").digest("hex");
  }

  /**
   * Moves the index files of earlier versions into the store: each checked (a file that does not open throws
   * INDEX_CORRUPT, nothing moved), all written in one transaction without replacing a row already there (a sealed
   * file wins over a plain one of the same twin), then the files deleted.
   */
  async #migrateFiles(store: SealedIndexStore): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "ENOENT") return;
      throw new PipelineError("INDEX_CORRUPT", "cannot list the pipeline index folder", { cause });
    }
    const documents = new Map<string, SealedDocument>();
    const moved: string[] = [];
    if (this.#key !== undefined) {
      for (const name of names.filter((n) => /^[0-9a-f]{64}\.twin$/.test(n)).sort()) {
        const body = new Uint8Array(await readFile(join(this.root, name)));
        const document = { name: name.slice(0, 64), body };
        this.#unseal(document); // refuses a file that does not open
        documents.set(document.name, document);
        moved.push(name);
      }
    }
    for (const name of names.filter((n) => /^[0-9a-f]{64}\.json$/.test(n)).sort()) {
      const document = this.#seal(await readPlainFile(join(this.root, name), `0x${name.slice(0, 64)}`));
      if (!documents.has(document.name)) documents.set(document.name, document);
      moved.push(name);
    }
    if (moved.length === 0) return;
    await store.putAllIfAbsent(this.#owner(), [...documents.values()]);
    for (const name of moved) await unlink(join(this.root, name)).catch(() => undefined);
  }

  #seal(index: StoredIndex): SealedDocument {
    const json = JSON.stringify(index);
    if (this.#key === undefined) return { name: index.twinId.slice(2).toLowerCase(), body: utf8.encode(json) };
    const name = createHmac("sha256", this.#key).update(index.twinId.toLowerCase()).digest("hex");
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(utf8.encode(SEALED_TWIN_INDEX_FORMAT));
    // Encrypted a slice at a time straight into the body (GCM's ciphertext is as long as the text): an index of a
    // 20,000-record twin is tens of MB, and each whole-size copy of it would count in the pipeline's peak memory.
    const body = new Uint8Array(NONCE_BYTES + Buffer.byteLength(json, "utf8") + TAG_BYTES);
    body.set(nonce, 0);
    let at = NONCE_BYTES;
    for (let start = 0; start < json.length;) {
      let end = Math.min(start + SEAL_SLICE_CHARS, json.length);
      if (end < json.length && isHighSurrogate(json.charCodeAt(end - 1))) end -= 1; // a pair is encoded whole
      const part = cipher.update(json.slice(start, end), "utf8");
      body.set(part, at);
      at += part.length;
      start = end;
    }
    const rest = cipher.final();
    body.set(rest, at);
    body.set(cipher.getAuthTag(), at + rest.length);
    return { name, body };
  }

  #unseal(document: SealedDocument): StoredIndex {
    if (this.#key === undefined) return parseIndex(Buffer.from(document.body).toString("utf8"), `0x${document.name}`);
    const bytes = Buffer.from(document.body);
    const label = `${document.name.slice(0, 12)}…${SEALED_SUFFIX}`;
    let index: StoredIndex;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.#key, bytes.subarray(0, NONCE_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(utf8.encode(SEALED_TWIN_INDEX_FORMAT));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      const text = Buffer.concat([
        decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]).toString("utf8");
      index = JSON.parse(text) as StoredIndex;
    } catch (cause) {
      throw new PipelineError("INDEX_CORRUPT", `the sealed index ${label} does not open with the custodian's key`, {
        cause,
      });
    }
    const expected = createHmac("sha256", this.#key).update(String(index?.twinId)).digest("hex");
    if (!isKnownFormat(index) || expected !== document.name) {
      throw new PipelineError("INDEX_CORRUPT", `the sealed index ${label} has another format or twin`);
    }
    return index;
  }
}

/** A plain index file of an earlier version (`<twin id>.json`), checked. */
async function readPlainFile(path: string, twinId: string): Promise<StoredIndex> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new PipelineError("INDEX_CORRUPT", `the index of twin ${twinId} is unreadable`, { cause });
  }
  return parseIndex(text, twinId);
}

/** An index as stored: of this format, or of /1 (migrated on open). */
type StoredIndex = TwinIndex | TwinIndexV1;

function isKnownFormat(index: StoredIndex | undefined): boolean {
  return index?.format === TWIN_INDEX_FORMAT || index?.format === FORMAT_V1;
}

function parseIndex(text: string, twinId: string): StoredIndex {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new PipelineError("INDEX_CORRUPT", `the index of twin ${twinId} is unreadable`, { cause });
  }
  const index = parsed as StoredIndex;
  if (!isKnownFormat(index) || index.twinId !== twinId) {
    throw new PipelineError("INDEX_CORRUPT", `the index of twin ${twinId} has another format`);
  }
  return index;
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
      ...(entry.source !== undefined ? { source: entry.source } : {}),
    })),
    recordBatches: index.recordBatches,
    batches: index.batches,
    intakes: [],
    applies: [],
    states: index.states,
    grants: [],
  };
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/**
 * An index written before v2 of the contracts: its states have no chain version or epoch (v1 counted versions per
 * twin, so the chain version was the engine's, in one epoch). Records anchored by `recordUpdate` keep their kind.
 */
function upgraded<T extends StoredIndex>(index: T): T {
  const states = index.states as (Omit<StateAnchor, "chainVersion" | "epoch"> & Partial<StateAnchor>)[];
  states.forEach((state, i) => {
    if (state.chainVersion === undefined || state.epoch === undefined) {
      index.states[i] = { ...state, chainVersion: state.chainVersion ?? state.version, epoch: state.epoch ?? 1 };
    }
  });
  return index;
}

/** The key that seals the pipeline's index files: HMAC-SHA-256 of the custodian's key, domain separated. */
export function indexKeyOf(custodianKey: PrivateKeyLike): Uint8Array {
  return new Uint8Array(
    createHmac("sha256", privateKeyBytes(custodianKey)).update("twinledger/pipeline-index/1").digest(),
  );
}
