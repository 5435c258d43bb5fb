/**
 * Whether anything an answer about a twin is built from may have changed: its records, readings, anchors, committed
 * versions, erasure, or the devices whose readings are set aside. Readers that keep what they built (the gateway's
 * answer cache) key it by {@link TwinRevisions.of} and keep it only while that token stays the same.
 *
 * @dev Every write of a twin runs inside {@link TwinRevisions.during} (the pipeline's per-twin queue), which counts
 * once when it starts and once when it ends: the count is odd while a write runs, and `of` then answers null (nothing
 * built meanwhile may be kept). A change of every twin at once (the devices flagged) counts on its own. A reader
 * compares the token taken before it built with the one after: the same token means no write started in between.
 */
export class TwinRevisions {
  /** Changes of every twin (device flags set or cleared). */
  #all = 0;
  /** Twin id (lower case) → writes started and ended; odd while one runs. */
  readonly #twins = new Map<string, number>();

  /** The twin's token now; null while a write of it runs. */
  of(twinId: string): string | null {
    const count = this.#twins.get(twinId) ?? 0;
    return count % 2 === 1 ? null : `${this.#all}.${count}`;
  }

  /** Runs one write of the twin (the caller serializes the twin's writes), counted when it starts and ends. */
  async during<T>(twinId: string, write: () => Promise<T>): Promise<T> {
    this.#count(twinId);
    try {
      return await write();
    } finally {
      this.#count(twinId);
    }
  }

  /** Every twin's answers may have changed (a synchronous change outside the twins' writes). */
  changedAll(): void {
    this.#all += 1;
  }

  #count(twinId: string): void {
    this.#twins.set(twinId, (this.#twins.get(twinId) ?? 0) + 1);
  }
}
