import type IORedis from 'ioredis';
import { EDGE_STREAM_MAX_ENTRIES, EDGE_STREAM_TTL_SECONDS, edgeFields, type EdgeMeta } from '../../contracts/live-edge';
import type { Logger } from '../../shared/log';
import { metrics } from '../../shared/metrics';

/** Entries waiting for Redis beyond this are dropped: the edge is for the present, S3 keeps the rest. */
const MAX_IN_FLIGHT = 50;
/**
 * The stream's TTL is renewed with its first entry, every this often, and with its run and end
 * entries, not with every part: MULTI/XADD/EXPIRE/EXEC per part was ~1 ms of the recorder's JS
 * thread, 5 times a second per room (CPU profile, issue 15). The stream still outlives its last
 * write by at least EDGE_STREAM_TTL_SECONDS − this.
 */
const RENEW_TTL_MS = 30_000;

/**
 * Hands the live edge's entries (see contracts/live-edge.ts) to Redis, in order, never waiting:
 * the recorder does not slow down for the edge. While Redis is away the entries are dropped past a
 * small queue (listeners then wait for the next part or read whole segments from S3).
 */
export class EdgePublisher {
  private inFlight = 0;
  private failing = false;
  private renewedAtMs = -Infinity;

  constructor(
    private readonly redis: IORedis,
    private readonly key: string,
    private readonly log: Logger,
  ) {}

  publish(meta: EdgeMeta, bytes?: Buffer): void {
    if (this.inFlight >= MAX_IN_FLIGHT) {
      metrics.edgeDropped.inc();
      return;
    }
    this.inFlight++;
    const renew = meta.t !== 'part' || Date.now() - this.renewedAtMs >= RENEW_TTL_MS;
    const fields = edgeFields(meta, bytes);
    const sent = renew
      ? this.redis.multi().xadd(this.key, 'MAXLEN', '~', EDGE_STREAM_MAX_ENTRIES, '*', ...fields).expire(this.key, EDGE_STREAM_TTL_SECONDS).exec()
      : this.redis.xadd(this.key, 'MAXLEN', '~', EDGE_STREAM_MAX_ENTRIES, '*', ...fields);
    if (renew) this.renewedAtMs = Date.now();
    sent
      .then(
        () => {
          if (this.failing) this.log.info('live edge entries reach Redis again');
          this.failing = false;
        },
        (err) => {
          metrics.edgeDropped.inc();
          if (!this.failing) this.log.warn({ err }, 'live edge entry not published (Redis)');
          this.failing = true;
        },
      )
      .finally(() => this.inFlight--);
  }
}
