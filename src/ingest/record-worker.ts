import type { S3Client } from '@aws-sdk/client-s3';
import { roomService } from '../shared/livekit';
import { Job, Worker } from 'bullmq';
import type IORedis from 'ioredis';
import type { Config } from '../config';
import { FinalizeJob, liveArchiveJobId, liveTranscribeJobId, QUEUES, RecordJob } from '../contracts/jobs';
import { rel } from '../contracts/layout';
import { Control } from '../shared/control';
import type { Logger } from '../shared/log';
import { enqueueAfterRoom, Queues } from '../shared/queues';
import { roomOptions } from '../contracts/room-metadata';
import { Recording } from './recording';

/**
 * The ingest role: a BullMQ worker whose job lasts as long as its room. Each process records up to
 * INGEST_CONCURRENCY rooms; more processes on more machines share the queue.
 */
export function startIngest(deps: {
  cfg: Config;
  connection: IORedis;
  queues: Queues;
  s3: S3Client;
  log: Logger;
}): { worker: Worker; drain: () => Promise<void> } {
  const { cfg, connection, queues, s3 } = deps;
  const log = deps.log.child({ role: 'ingest' });
  const control = new Control(connection, cfg.QUEUE_PREFIX);
  const live = new Set<Recording>();
  const rooms = roomService(cfg);

  const worker = new Worker(
    QUEUES.record,
    async (job: Job) => {
      const data = RecordJob.parse(job.data);
      // A job can outlive its room (a late retry, a webhook replayed after the room ended): never
      // create a room by joining it.
      const [info] = await rooms.listRooms([data.room]);
      if (!info || info.sid !== data.roomSid) {
        log.info({ room: data.room, roomSid: data.roomSid }, 'room session is gone; nothing to record');
        return { skipped: 'room not live' };
      }
      const rec = new Recording(cfg, data, s3, control, log, roomOptions(info.metadata).visibility);
      live.add(rec);
      // Transcription and the archive files are made while the room runs, so little is left when it ends.
      const after: FinalizeJob = { room: data.room, recordingId: data.recordingId, manifestKey: rec.prefix + rel.manifest };
      const liveOpts = { attempts: 5, backoff: { type: 'exponential' as const, delay: 2000 }, removeOnComplete: { age: 7 * 24 * 3600 } };
      await queues.live.add('live', after, { jobId: liveTranscribeJobId(data.recordingId), ...liveOpts });
      await queues.archive.add('archive', after, { jobId: liveArchiveJobId(data.recordingId), ...liveOpts });
      try {
        const result = await rec.run();
        await enqueueAfterRoom(queues.flows, after);
        return result;
      } finally {
        live.delete(rec);
      }
    },
    {
      connection,
      prefix: cfg.QUEUE_PREFIX,
      concurrency: cfg.INGEST_CONCURRENCY,
      lockDuration: 30_000,
    },
  );
  worker.on('failed', (job, err) => log.error({ err, jobId: job?.id }, 'record job failed'));
  worker.on('error', (err) => log.error({ err }, 'record worker error'));

  return {
    worker,
    /** SIGTERM: stop taking rooms, end the ones in progress cleanly (flush, upload, hand over). */
    drain: async () => {
      const closing = worker.close();
      for (const rec of live) rec.abort('ingest shutting down');
      await closing;
    },
  };
}
