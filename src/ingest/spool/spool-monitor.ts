import { mkdirSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import type { Logger } from '../../shared/log';
import { metrics } from '../../shared/metrics';

export type SpoolHealth = 'ok' | 'low' | 'critical';

/** What a free-space reading means: below `minFree` is low, below a quarter of it critical. */
export function spoolHealth(freeBytes: number, minFreeBytes: number): SpoolHealth {
  if (freeBytes < minFreeBytes / 4) return 'critical';
  if (freeBytes < minFreeBytes) return 'low';
  return 'ok';
}

export interface SpoolLimits {
  /** Free space on the spool's disk below which the disk counts as low. */
  minFreeBytes: number;
  /** Bytes this process may hold waiting for S3 before it stops taking new rooms. */
  maxSpooledBytes: number;
}

/**
 * Whether this ingest should take new rooms: not while its disk runs low or its spool is over its
 * bound. Rooms already being recorded go on spooling — their audio is never dropped for this —
 * so the bound caps growth to the rooms in hand; it resumes below 80 % of the bound.
 */
export function acceptsRooms(freeBytes: number, spooledBytes: number, limits: SpoolLimits, acceptingNow: boolean): boolean {
  if (spoolHealth(freeBytes, limits.minFreeBytes) !== 'ok') return false;
  return acceptingNow ? spooledBytes <= limits.maxSpooledBytes : spooledBytes <= limits.maxSpooledBytes * 0.8;
}

/**
 * Watches the spool's disk and size: free and spooled bytes in /metrics, a loud log line when the
 * disk runs low or the spool passes its bound — while S3 is away the spool grows by ~0.4 MB per
 * room-minute (HLS + FLAC chunks), and an operator must hear about it before audio has nowhere
 * to go — and `onAccepting` when this ingest should stop or start taking new rooms.
 */
export function watchSpool(dir: string, limits: SpoolLimits, log: Logger, onAccepting: (accept: boolean) => void = () => undefined, everyMs = 1_000): () => void {
  mkdirSync(dir, { recursive: true });
  let last: SpoolHealth = 'ok';
  let accepting = true;
  let lastLogAt = 0;
  const check = async () => {
    try {
      const s = await statfs(dir);
      const free = s.bavail * s.bsize;
      const spooled = (await metrics.spoolBytes.get()).values[0]?.value ?? 0;
      metrics.spoolFreeBytes.set(free);
      const health = spoolHealth(free, limits.minFreeBytes);
      const facts = { dir, freeBytes: free, minFreeBytes: limits.minFreeBytes, spooledBytes: spooled, maxSpooledBytes: limits.maxSpooledBytes };
      if (health !== 'ok' && (health !== last || Date.now() - lastLogAt > 60_000)) {
        lastLogAt = Date.now();
        log.error(facts, health === 'critical' ? 'spool disk almost full: audio will be lost when it is' : 'spool disk running low');
      } else if (health === 'ok' && last !== 'ok') log.info(facts, 'spool disk has room again');
      last = health;
      const accept = acceptsRooms(free, spooled, limits, accepting);
      if (accept !== accepting) {
        accepting = accept;
        metrics.acceptingRooms.set(accept ? 1 : 0);
        if (accept) log.info(facts, 'spool back within bounds: taking new rooms again');
        else log.error(facts, 'spool over its bound or disk low (is S3 reachable?): taking no new rooms; rooms in progress keep spooling');
        onAccepting(accept);
      }
    } catch (err) {
      log.warn({ err, dir }, 'cannot read the spool disk free space');
    }
  };
  metrics.acceptingRooms.set(1);
  void check();
  const timer = setInterval(() => void check(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
