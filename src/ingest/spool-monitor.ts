import { mkdirSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import type { Logger } from '../shared/log';
import { metrics } from '../shared/metrics';

export type SpoolHealth = 'ok' | 'low' | 'critical';

/** What a free-space reading means: below `minFree` is low, below a quarter of it critical. */
export function spoolHealth(freeBytes: number, minFreeBytes: number): SpoolHealth {
  if (freeBytes < minFreeBytes / 4) return 'critical';
  if (freeBytes < minFreeBytes) return 'low';
  return 'ok';
}

/**
 * Watches the spool's disk: free bytes and spooled bytes in /metrics, and a loud log line when
 * free space runs low — while S3 is away the spool grows by ~0.4 MB per room-minute (HLS + FLAC
 * chunks), and an operator must hear about it before audio has nowhere to go.
 */
export function watchSpool(dir: string, minFreeBytes: number, log: Logger, everyMs = 5_000): () => void {
  mkdirSync(dir, { recursive: true });
  let last: SpoolHealth = 'ok';
  let lastLogAt = 0;
  const check = async () => {
    try {
      const s = await statfs(dir);
      const free = s.bavail * s.bsize;
      metrics.spoolFreeBytes.set(free);
      const health = spoolHealth(free, minFreeBytes);
      if (health !== 'ok' && (health !== last || Date.now() - lastLogAt > 60_000)) {
        lastLogAt = Date.now();
        log.error({ dir, freeBytes: free, minFreeBytes, spooledBytes: await metrics.spoolBytes.get().then((g) => g.values[0]?.value ?? 0) }, health === 'critical' ? 'spool disk almost full: audio will be lost when it is' : 'spool disk running low');
      } else if (health === 'ok' && last !== 'ok') log.info({ dir, freeBytes: free }, 'spool disk has room again');
      last = health;
    } catch (err) {
      log.warn({ err, dir }, 'cannot read the spool disk free space');
    }
  };
  void check();
  const timer = setInterval(() => void check(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
