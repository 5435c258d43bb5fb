/**
 * Map over items with at most `limit` calls in flight, keeping the order of the results. On the
 * first rejection no new call starts; the calls in flight finish, then it rejects with that error
 * and `settled` lists the indexes that did complete (so the caller can undo them).
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  action: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await action(items[index], index);
      } catch (error) {
        if (!failed) failure = error;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw new MapLimitError(failure, results);
  return results;
}

/** The rejection of {@link mapLimit}: the first error, and the results that completed (sparse). */
export class MapLimitError<R> extends Error {
  constructor(
    readonly error: unknown,
    readonly partial: readonly (R | undefined)[],
  ) {
    super("a parallel step failed", { cause: error });
  }
}
