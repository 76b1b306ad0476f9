import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import type { Config } from '../config';
import { QUEUES } from '../contracts/jobs';

/** BullMQ needs maxRetriesPerRequest: null on connections used by workers. */
export function redisConnection(cfg: Pick<Config, 'REDIS_URL'>): IORedis {
  return new IORedis(cfg.REDIS_URL, { maxRetriesPerRequest: null });
}

export interface Queues {
  record: Queue;
  finalize: Queue;
  close(): Promise<void>;
}

export function openQueues(cfg: Config, connection: IORedis): Queues {
  const opts = { connection, prefix: cfg.QUEUE_PREFIX };
  const record = new Queue(QUEUES.record, opts);
  const finalize = new Queue(QUEUES.finalize, opts);
  return {
    record,
    finalize,
    close: async () => {
      await Promise.all([record.close(), finalize.close()]);
    },
  };
}
