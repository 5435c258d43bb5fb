import type { VitalReading } from "../fhir/records";
import { batchAnchorOf, buildReadingTree, type ReadingTree } from "../chain/anchors";
import { PipelineError } from "./errors";
import type { SaltedReading } from "./blob-codec";
import { newReadingSalt, readingCommitment, readingTimestampSeconds } from "./reading-commitment";

/**
 * When pending readings are batched and anchored.
 *
 * - `"cadence"` (the default): counts are hidden. Periods of `maxAgeMs` are aligned to the epoch, the same for every
 *   twin; a twin's pending readings are due once the period in which the oldest of them arrived has ended, and a
 *   flush makes one batch of up to `maxReadings` readings, its plaintext padded to the fixed
 *   {@link batchPlaintextBytes} of the policy. So a stream makes one anchor per period in which it sent anything,
 *   every blob of the same size, whatever its count up to the capacity. A period with more than `maxReadings`
 *   readings makes one more batch per `maxReadings` (so an observer learns that the period was over capacity, in
 *   steps of the capacity): nothing is held back, so a fast stream never builds a backlog. Size `maxReadings`
 *   above the streams' readings per period (the default, 128 an hour, holds a reading every 30 s).
 * - `"size"`: the v1 behaviour, which reveals counts: due at `maxReadings` pending or when the oldest is `maxAgeMs`
 *   old, split into batches of `maxReadings` (the number of batches per day tells the count), blobs padded to a
 *   power of two only.
 */
export interface BatchPolicy {
  readonly mode: "cadence" | "size";
  /** The largest batch. In "size" mode, also a flush once this many readings are pending. */
  readonly maxReadings: number;
  /** The cadence's period; in "size" mode, flush once the oldest pending reading was received this long ago. */
  readonly maxAgeMs: number;
}

export const DEFAULT_BATCH_POLICY: BatchPolicy = Object.freeze({
  mode: "cadence",
  maxReadings: 128,
  maxAgeMs: 60 * 60_000,
});

/**
 * Bytes a padded batch plaintext reserves per reading in "cadence" mode: a salted reading's JSON is ~230-300 bytes
 * (sign, value, unit, time, device, category, 32-byte salt in hex).
 */
export const BATCH_BYTES_PER_READING = 320;

/**
 * The fixed size of a batch plaintext under the policy in "cadence" mode: the next power of two above
 * `maxReadings × BATCH_BYTES_PER_READING` (a full batch fits), so every batch seals to the same size. Undefined in
 * "size" mode (each batch to its own power of two).
 */
export function batchPlaintextBytes(policy: BatchPolicy): number | undefined {
  if (policy.mode !== "cadence") return undefined;
  let size = 512;
  while (size < policy.maxReadings * BATCH_BYTES_PER_READING) size *= 2;
  return size;
}

/** Validate a policy, filling defaults. Throws `INVALID_OPTIONS`. */
export function resolveBatchPolicy(policy: Partial<BatchPolicy> = {}): BatchPolicy {
  const resolved = { ...DEFAULT_BATCH_POLICY, ...policy };
  if (!Number.isSafeInteger(resolved.maxReadings) || resolved.maxReadings < 1 || resolved.maxReadings > 0xffffffff) {
    throw new PipelineError("INVALID_OPTIONS", "batchPolicy.maxReadings must be a positive integer");
  }
  if (!Number.isFinite(resolved.maxAgeMs) || resolved.maxAgeMs < 0) {
    throw new PipelineError("INVALID_OPTIONS", "batchPolicy.maxAgeMs must be a non-negative number");
  }
  if (resolved.mode !== "cadence" && resolved.mode !== "size") {
    throw new PipelineError("INVALID_OPTIONS", 'batchPolicy.mode must be "cadence" or "size"');
  }
  if (resolved.mode === "cadence" && !(resolved.maxAgeMs >= 1)) {
    throw new PipelineError("INVALID_OPTIONS", "batchPolicy.maxAgeMs (the cadence's period) must be at least 1 ms");
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
    const { mode, maxReadings, maxAgeMs } = this.policy;
    if (mode === "cadence") return Math.floor(now / maxAgeMs) > Math.floor(pending.oldestReceivedAt / maxAgeMs);
    return pending.readings.length >= maxReadings || now - pending.oldestReceivedAt >= maxAgeMs;
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

/**
 * The batches a flush makes of the pending readings: all of them, in batches of `maxReadings` (in "cadence" mode one
 * batch unless the period was over capacity, see {@link BatchPolicy}). `waiting` is always empty: nothing is held
 * back for a later period, so a stream faster than the capacity never builds a backlog.
 */
export function planBatches(
  readings: readonly VitalReading[],
  policy: BatchPolicy,
): { batches: VitalReading[][]; waiting: VitalReading[] } {
  return { batches: splitIntoBatches(readings, policy.maxReadings), waiting: [] };
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
