/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the items' order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * A read started before it is known to be needed (a route's prefetch). Whoever awaits it still
 * gets its failure; when nobody does (the request was refused first), the failure does not become
 * an unhandled rejection, which would take the instance down.
 */
export function speculative<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
