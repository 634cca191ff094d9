// pool runs work over items, at most n at once, so a page of a hundred
// tags does not open a hundred requests together.
export async function pool<T>(items: T[], n: number, work: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  const run = async () => {
    while (next < items.length && !signal?.aborted) {
      const item = items[next++];
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, run));
}
