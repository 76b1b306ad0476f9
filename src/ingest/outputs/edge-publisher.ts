import type IORedis from 'ioredis';
import { EDGE_STREAM_MAX_ENTRIES, EDGE_STREAM_TTL_SECONDS, edgeFields, type EdgeMeta } from '../../contracts/live-edge';
import type { Logger } from '../../shared/log';
import { metrics } from '../../shared/metrics';

/** Entries waiting for Redis beyond this are dropped: the edge is for the present, S3 keeps the rest. */
const MAX_IN_FLIGHT = 50;

/**
 * Hands the live edge's entries (see contracts/live-edge.ts) to Redis, in order, never waiting:
 * the recorder does not slow down for the edge. While Redis is away the entries are dropped past a
 * small queue (listeners then wait for the next part or read whole segments from S3).
 */
export class EdgePublisher {
  private inFlight = 0;
  private failing = false;

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
    this.redis
      .multi()
      .xadd(this.key, 'MAXLEN', '~', EDGE_STREAM_MAX_ENTRIES, '*', ...edgeFields(meta, bytes))
      .expire(this.key, EDGE_STREAM_TTL_SECONDS)
      .exec()
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
