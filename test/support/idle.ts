import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { QUEUES } from '../../src/contracts/jobs';
import { sleep } from './scenario';

/**
 * Waits until the test stack's workers have nothing running or waiting (earlier tests' rooms
 * being finalized, transcribed, archived), so a timing test measures the recorder on a quiet
 * machine rather than whatever the previous test left behind. Gives up quietly after `maxMs`.
 */
export async function waitForIdleWorkers(env: Record<string, string>, maxMs = 90_000): Promise<number> {
  const connection = new IORedis(env.REDIS_URL, { maxRetriesPerRequest: null });
  const queues = [QUEUES.liveTranscribe, QUEUES.liveArchive, QUEUES.finalize, QUEUES.transcribe, QUEUES.publish].map((q) => new Queue(q, { connection, prefix: env.QUEUE_PREFIX }));
  const started = Date.now();
  try {
    for (;;) {
      const counts = await Promise.all(queues.map((q) => q.getJobCounts('active', 'waiting', 'prioritized', 'waiting-children')));
      const busy = counts.reduce((n, c) => n + c.active + c.waiting + c.prioritized, 0);
      if (busy === 0 || Date.now() - started > maxMs) return Date.now() - started;
      await sleep(500);
    }
  } finally {
    await Promise.all(queues.map((q) => q.close()));
    connection.disconnect();
  }
}
