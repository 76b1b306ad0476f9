import type { Control } from '../../shared/control';
import type { Logger } from '../../shared/log';

const POLL_MS = 250;
/** How long a live recorder may take to beat again after Redis came back. */
const REDIS_RESTART_GRACE_MS = 2_500;
const RECENT_REDIS_RESTART_S = 30;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A record job can come back while its recorder still runs: Redis restarted (or was unreachable)
 * for longer than the job lock, so BullMQ saw the job as stalled although nothing died. Resuming
 * would cut a gap into a healthy recording; instead this job follows the live recorder (its pulse
 * in Redis) and only takes over if the pulse stops.
 *
 * Resolves `false` at once when no recorder is alive (resume it), `true` once the followed
 * recorder has stopped (read the manifest again: ended, or handed over and to be resumed).
 */
export async function followLiveRecorder(control: Control, recordingId: string, log: Logger): Promise<boolean> {
  let owner = await control.beatingOwner(recordingId).catch(() => null);
  if (!owner && (await control.redisUptimeSeconds().catch(() => Infinity)) < RECENT_REDIS_RESTART_S) {
    const until = Date.now() + REDIS_RESTART_GRACE_MS;
    while (!owner && Date.now() < until) {
      await sleep(POLL_MS);
      owner = await control.beatingOwner(recordingId).catch(() => null);
    }
  }
  if (!owner) return false;
  log.warn({ recordingId, owner }, 'record job came back while its recorder is alive (its lock lapsed, e.g. Redis restarted): following it, not resuming');
  while (owner) {
    await sleep(POLL_MS);
    // Redis away again: the recorder cannot be judged dead from here, keep following.
    owner = await control.beatingOwner(recordingId).catch(() => owner);
  }
  log.info({ recordingId }, 'followed recorder stopped');
  return true;
}
