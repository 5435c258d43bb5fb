/**
 * Runs actions one at a time per key (a twin), in the order they were queued, while actions of different keys run
 * side by side. A failed action does not stop the ones queued after it. A key's entry is dropped once its queue is
 * empty, so the map holds only twins with work in flight.
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, action: () => Promise<T>): Promise<T> {
    const tail = this.#tails.get(key) ?? Promise.resolve();
    const run = tail.then(action, action);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, settled);
    void settled.then(() => {
      if (this.#tails.get(key) === settled) this.#tails.delete(key);
    });
    return run;
  }

  /** Resolves once every action queued so far has settled. */
  async idle(): Promise<void> {
    await Promise.all([...this.#tails.values()]);
  }

  /** Keys with an action queued or running. */
  get busy(): number {
    return this.#tails.size;
  }
}
