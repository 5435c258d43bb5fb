import type { VitalReading } from "../fhir/records";
import { batchAnchorOf, buildReadingTree, type ReadingTree } from "../chain/anchors";
import { PipelineError } from "./errors";
import type { SaltedReading } from "./blob-codec";
import { newReadingSalt, readingCommitment, readingTimestampSeconds } from "./reading-commitment";

/** When pending readings are batched and anchored. */
export interface BatchPolicy {
  /** Flush once this many readings are pending; also the largest batch (more are split). */
  readonly maxReadings: number;
  /** Flush once the oldest pending reading was received this long ago. */
  readonly maxAgeMs: number;
}

export const DEFAULT_BATCH_POLICY: BatchPolicy = Object.freeze({ maxReadings: 1024, maxAgeMs: 15 * 60_000 });

/** Validate a policy, filling defaults. Throws `INVALID_OPTIONS`. */
export function resolveBatchPolicy(policy: Partial<BatchPolicy> = {}): BatchPolicy {
  const resolved = { ...DEFAULT_BATCH_POLICY, ...policy };
  if (!Number.isSafeInteger(resolved.maxReadings) || resolved.maxReadings < 1 || resolved.maxReadings > 0xffffffff) {
    throw new PipelineError("INVALID_OPTIONS", "batchPolicy.maxReadings must be a positive integer");
  }
  if (!Number.isFinite(resolved.maxAgeMs) || resolved.maxAgeMs < 0) {
    throw new PipelineError("INVALID_OPTIONS", "batchPolicy.maxAgeMs must be a non-negative number");
  }
  return Object.freeze(resolved);
}

/** Readings received for one twin and not yet batched. */
export interface PendingReadings {
  readonly readings: readonly VitalReading[];
  /** When the oldest of them was received (epoch ms), or null when none is pending. */
  readonly oldestReceivedAt: number | null;
}

/**
 * Accumulates readings per twin until the policy says a batch is due: `maxReadings` pending, or
 * the oldest pending for `maxAgeMs`. It only keeps the count; the pipeline keeps the readings
 * themselves encrypted (intake blobs) so that a restart loses nothing.
 */
export class ReadingBatcher {
  readonly policy: BatchPolicy;
  readonly #pending = new Map<string, { readings: VitalReading[]; oldestReceivedAt: number }>();

  constructor(policy: Partial<BatchPolicy> = {}) {
    this.policy = resolveBatchPolicy(policy);
  }

  add(twinId: string, readings: readonly VitalReading[], receivedAt: number): void {
    if (readings.length === 0) return;
    const pending = this.#pending.get(twinId);
    if (pending === undefined) {
      this.#pending.set(twinId, { readings: [...readings], oldestReceivedAt: receivedAt });
    } else {
      pending.readings.push(...readings);
      pending.oldestReceivedAt = Math.min(pending.oldestReceivedAt, receivedAt);
    }
  }

  pending(twinId: string): PendingReadings {
    const pending = this.#pending.get(twinId);
    return pending === undefined
      ? { readings: [], oldestReceivedAt: null }
      : { readings: pending.readings, oldestReceivedAt: pending.oldestReceivedAt };
  }

  /** Whether the twin's pending readings should be flushed now. */
  isDue(twinId: string, now: number): boolean {
    const pending = this.#pending.get(twinId);
    if (pending === undefined) return false;
    return pending.readings.length >= this.policy.maxReadings || now - pending.oldestReceivedAt >= this.policy.maxAgeMs;
  }

  /** Twins with a batch due. */
  dueTwins(now: number): string[] {
    return [...this.#pending.keys()].filter((twinId) => this.isDue(twinId, now));
  }

  /** Remove and return the twin's pending readings. */
  take(twinId: string): VitalReading[] {
    const pending = this.#pending.get(twinId);
    this.#pending.delete(twinId);
    return pending?.readings ?? [];
  }
}

/** Split readings into batches of at most `maxReadings`, in time order. */
export function splitIntoBatches(readings: readonly VitalReading[], maxReadings: number): VitalReading[][] {
  const sorted = [...readings].sort((a, b) => a.at - b.at || (a.sign < b.sign ? -1 : a.sign > b.sign ? 1 : 0));
  const batches: VitalReading[][] = [];
  for (let at = 0; at < sorted.length; at += maxReadings) batches.push(sorted.slice(at, at + maxReadings));
  return batches;
}

/** A batch ready to store and anchor. */
export interface PreparedBatch {
  /** The readings with their fresh salts, in leaf order. */
  readonly readings: readonly SaltedReading[];
  /** The salted commitments, in the same order. */
  readonly readingHashes: readonly string[];
  readonly tree: ReadingTree;
  /** The arguments of `anchorBatch` after the twin id. */
  readonly merkleRoot: string;
  readonly count: number;
  readonly from: number;
  readonly to: number;
}

/**
 * Salt each reading, commit to it (`readingCommitment`) and build the batch's tree over
 * `(readingHash, time in seconds)`. Several readings may share a second; their salted hashes
 * differ, so no leaf repeats.
 */
export function prepareBatch(twinId: string, readings: readonly VitalReading[]): PreparedBatch {
  const salted = readings.map((reading) => ({ reading, salt: newReadingSalt() }));
  const readingHashes = salted.map(({ reading, salt }) => readingCommitment(salt, twinId, reading));
  const tree = buildReadingTree(
    salted.map(({ reading }, i) => ({ readingHash: readingHashes[i], timestamp: readingTimestampSeconds(reading) })),
  );
  const anchor = batchAnchorOf(tree);
  return { readings: salted, readingHashes, tree, ...anchor };
}
