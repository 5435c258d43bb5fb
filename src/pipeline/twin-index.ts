import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { PipelineError } from "./errors";
import type { RecordAnchor, StateAnchor } from "./reader";

/**
 * The pipeline's own index of one twin, persisted as one JSON file per twin:
 *
 * ```
 * <folder>/<twin id, 64 hex>.json   { "format": "twinledger-pipeline-twin/1", ... }   (mode 0600)
 * ```
 *
 * It holds what the chain and the stores cannot say: which blob holds which record, the anchor of
 * each, the batches with their roots, the engine's apply log (to rebuild the same versions
 * after a restart), the committed states and the reader grants. It holds no health data and no
 * key: records, readings and the readings' salts live only inside the encrypted blobs (a batch's
 * tree is rebuilt from its blob and checked against the anchored root). Record keys
 * (`Condition/<id>`), categories, content ids, hashes, roots and batch time ranges are the
 * metadata it keeps.
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

/** Reads and writes twin indexes in a folder, each file replaced atomically (temporary file, fsync, rename). */
export class TwinIndexFolder {
  readonly root: string;
  readonly #fsync: boolean;

  constructor(root: string, options: { fsync?: boolean } = {}) {
    this.root = resolve(root);
    this.#fsync = options.fsync ?? true;
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
      indexes.push(upgraded(index));
    }
    return indexes;
  }

  /** Write a twin's index atomically. */
  async save(index: TwinIndex): Promise<void> {
    const path = join(this.root, `${index.twinId.slice(2)}.json`);
    await writeAtomic(path, JSON.stringify(index), this.#fsync);
  }
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

async function writeAtomic(path: string, text: string, fsync: boolean): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(temp, "wx", 0o600);
  try {
    try {
      await handle.writeFile(text, "utf8");
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
