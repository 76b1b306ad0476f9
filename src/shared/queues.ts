import { FlowProducer, Queue } from 'bullmq';
import IORedis from 'ioredis';
import type { Config } from '../config';
import { FinalizeJob, finalizeJobId, publishJobId, QUEUES, transcribeJobId } from '../contracts/jobs';

/** BullMQ needs maxRetriesPerRequest: null on connections used by workers. */
export function redisConnection(cfg: Pick<Config, 'REDIS_URL'>): IORedis {
  return new IORedis(cfg.REDIS_URL, { maxRetriesPerRequest: null });
}

export interface Queues {
  record: Queue;
  live: Queue;
  archive: Queue;
  flows: FlowProducer;
  close(): Promise<void>;
}

export function openQueues(cfg: Config, connection: IORedis): Queues {
  const opts = { connection, prefix: cfg.QUEUE_PREFIX };
  const record = new Queue(QUEUES.record, opts);
  const live = new Queue(QUEUES.liveTranscribe, opts);
  const archive = new Queue(QUEUES.liveArchive, opts);
  const flows = new FlowProducer(opts);
  return {
    record,
    live,
    archive,
    flows,
    close: async () => {
      await Promise.all([record.close(), live.close(), archive.close(), flows.close()]);
    },
  };
}

/**
 * Record jobs: a failed attempt (the recorder could not join, an encoder died) is retried and
 * resumes the same recording; kept a week (done) or a month (failed) for inspection.
 */
export const RECORD_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential' as const, delay: 1_000 },
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

/**
 * Live jobs (transcription, archive files) follow a room while it runs. They fail while S3 is
 * unreachable; retried every 3 s for up to 5 minutes, they outlast a storage outage and catch up
 * (transcription from its saved words, the archive from the start) instead of leaving all the
 * work to the after-room stages.
 */
export const LIVE_JOB_OPTIONS = {
  attempts: 100,
  backoff: { type: 'fixed' as const, delay: 3_000 },
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

/**
 * After a room: finalize → transcribe → publish as one BullMQ flow (children run first). Job ids
 * come from the recording, so enqueuing twice adds nothing. A transcription that fails for good
 * does not hold the replay back (ignoreDependencyOnFailure); a failed finalize fails the chain.
 */
export async function enqueueAfterRoom(flows: FlowProducer, data: FinalizeJob): Promise<void> {
  const retry = (attempts: number) => ({ attempts, backoff: { type: 'exponential' as const, delay: 2_000 } });
  const keep = { removeOnComplete: { age: 7 * 24 * 3600 }, removeOnFail: { age: 30 * 24 * 3600 } };
  await flows.add({
    name: 'publish',
    queueName: QUEUES.publish,
    data,
    opts: { jobId: publishJobId(data.recordingId), ...retry(3), ...keep },
    children: [
      {
        name: 'transcribe',
        queueName: QUEUES.transcribe,
        data,
        opts: { jobId: transcribeJobId(data.recordingId), ...retry(3), ...keep, ignoreDependencyOnFailure: true },
        children: [
          {
            name: 'finalize',
            queueName: QUEUES.finalize,
            data,
            opts: { jobId: finalizeJobId(data.recordingId), ...retry(5), ...keep, failParentOnFailure: true },
          },
        ],
      },
    ],
  });
}
