import { Job, UnrecoverableError, Worker } from 'bullmq';
import type IORedis from 'ioredis';
import type { Config } from '../config';
import { FinalizeJob, QUEUES } from '../contracts/jobs';
import type { Logger } from '../shared/log';
import { archiveLive } from './archive/live-archive';
import { setChildPriority } from '../shared/ffmpeg';
import { finalize } from './finalize';
import { publish } from './publish';
import type { StageDeps } from './stage';
import { makeEngine } from './transcribe';
import { transcribeLive } from './transcribe/live';
import { transcribe } from './transcribe/transcribe';

/**
 * The workers role: BullMQ processors for the after-the-room flow finalize → transcribe → publish
 * (see enqueueAfterRoom). Each is idempotent, so a retried or re-run job gives the same files.
 */
export function startWorkers(deps: { cfg: Config; connection: IORedis; s3: StageDeps['s3']; log: Logger }): { close: () => Promise<void> } {
  const { cfg, connection, s3 } = deps;
  const log = deps.log.child({ role: 'workers' });
  setChildPriority(cfg.WORKERS_NICE);
  // Each job reaches its recording's objects through a RecordingStore built from this.
  const stage: StageDeps = { s3, bucket: cfg.S3_BUCKET, log };
  const engine = makeEngine(cfg);
  const opts = {
    connection,
    prefix: cfg.QUEUE_PREFIX,
    concurrency: cfg.WORKER_CONCURRENCY,
    // A killed worker's job is noticed as stalled and handed to another within ~15 s.
    lockDuration: 10_000,
    stalledInterval: 5_000,
    maxStalledCount: 3,
  };
  const liveOpts = { ...opts, concurrency: cfg.INGEST_CONCURRENCY, lockDuration: 30_000 };
  const workers = [
    new Worker(QUEUES.finalize, (job: Job) => finalize(stage, FinalizeJob.parse(job.data), job), opts),
    new Worker(QUEUES.transcribe, (job: Job) => transcribe({ ...stage, engine, timeoutMs: cfg.TRANSCRIBE_TIMEOUT_MS }, FinalizeJob.parse(job.data), job), opts),
    new Worker(QUEUES.publish, (job: Job) => publish(stage, FinalizeJob.parse(job.data), job), opts),
    // The live jobs last as long as their rooms and mostly wait: many per process.
    new Worker(QUEUES.liveTranscribe, (job: Job) => transcribeLive({ ...stage, engine, timeoutMs: cfg.TRANSCRIBE_TIMEOUT_MS }, FinalizeJob.parse(job.data), job), liveOpts),
    new Worker(QUEUES.liveArchive, (job: Job) => archiveLive(stage, FinalizeJob.parse(job.data), job), liveOpts),
  ];
  for (const w of workers) {
    w.on('failed', (job, err) => log.warn({ queue: w.name, jobId: job?.id, attempts: job?.attemptsMade, unrecoverable: err instanceof UnrecoverableError, err: err.message }, 'job failed'));
    w.on('error', (err) => log.error({ err, queue: w.name }, 'worker error'));
  }
  return { close: async () => void (await Promise.all(workers.map((w) => w.close()))) };
}
