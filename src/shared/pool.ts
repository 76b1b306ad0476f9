import os from 'node:os';

/** How many CPU-bound child processes (FFmpeg, PocketSphinx) to run at once. */
export const CPU_PARALLELISM = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);

/** Runs fn over items with at most `limit` in flight; results keep the items' order. */
export async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}
