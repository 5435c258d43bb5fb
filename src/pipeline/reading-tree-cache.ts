import { LRUCache } from "lru-cache";
import type { ReadingTree } from "../chain/anchors";

/**
 * The reading batches' Merkle trees the pipeline keeps (built when a batch is anchored, or rebuilt for a proof from
 * the batch's readings), bounded per pipeline by {@link READING_TREE_CACHE_LEAVES} leaves, least recently used out.
 * A tree is derived data: twin-reads.ts rebuilds an evicted one from the batch's blob and checks it against the
 * anchored root. Before this bound every twin kept every batch's tree for as long as the process lived (measured in
 * the scale-out benchmark: about 60% of the heap the pipeline held per twin-day, some 2 MB for a day of one-minute
 * readings), so a pipeline's memory grew with the twins it had ingested.
 */

/** The most reading-tree leaves kept per pipeline (a day of one-minute readings of one twin: about 1,900). */
export const READING_TREE_CACHE_LEAVES = 100_000;

/** One twin's view of the pipeline's tree cache (what a {@link TwinSlot} holds as `trees`). */
export interface TwinTrees {
  get(batchKey: string): ReadingTree | undefined;
  set(batchKey: string, tree: ReadingTree): void;
  /** Drops the twin's trees (erasure). */
  clear(): void;
}

export class ReadingTreeCache {
  readonly #trees: LRUCache<string, ReadingTree>;
  /** The keys held per twin, so that a twin's trees can be dropped together (kept in step by `dispose`). */
  readonly #keysByTwin = new Map<string, Set<string>>();

  constructor(maxLeaves = READING_TREE_CACHE_LEAVES) {
    this.#trees = new LRUCache<string, ReadingTree>({
      maxSize: maxLeaves,
      sizeCalculation: (tree) => Math.max(1, tree.length),
      dispose: (_tree, key) => {
        const twinId = key.slice(0, key.indexOf("\n"));
        const keys = this.#keysByTwin.get(twinId);
        keys?.delete(key);
        if (keys?.size === 0) this.#keysByTwin.delete(twinId);
      },
    });
  }

  /** Leaves held now (for tests and measurements). */
  get leaves(): number {
    return this.#trees.calculatedSize;
  }

  forTwin(twinId: string): TwinTrees {
    const keyOf = (batchKey: string) => `${twinId}\n${batchKey}`;
    return {
      get: (batchKey) => this.#trees.get(keyOf(batchKey)),
      set: (batchKey, tree) => {
        const key = keyOf(batchKey);
        this.#trees.set(key, tree);
        if (!this.#trees.has(key)) return; // larger than the whole cache: not kept
        let keys = this.#keysByTwin.get(twinId);
        if (keys === undefined) this.#keysByTwin.set(twinId, (keys = new Set()));
        keys.add(key);
      },
      clear: () => {
        for (const key of [...(this.#keysByTwin.get(twinId) ?? [])]) this.#trees.delete(key);
        this.#keysByTwin.delete(twinId);
      },
    };
  }
}
