import type { S3Client } from '@aws-sdk/client-s3';
import { roomService } from '../shared/livekit';
import { DelayedError, Job, Worker } from 'bullmq';
import type IORedis from 'ioredis';
import type { Config } from '../config';
import { FinalizeJob, liveArchiveJobId, liveTranscribeJobId, QUEUES, RecordJob } from '../contracts/jobs';
import { recordingPrefix, rel } from '../contracts/layout';
import { closeLeftOpen, ingestStore, prepareResume } from './failover/resume-job';
import { Control } from '../shared/control';
import type { Logger } from '../shared/log';
import { enqueueAfterRoom, LIVE_JOB_OPTIONS, Queues } from '../shared/queues';
import { roomOptions } from '../contracts/room-metadata';
import { Recording } from './recording';
import { watchSpool } from './spool/spool-monitor';
import { followLiveRecorder } from './failover/follow-recorder';
import { loadFlac } from './outputs/flac-encoder';

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
  let draining = false;

  const rooms = roomService(cfg);

  const worker = new Worker(
    QUEUES.record,
    async (job: Job, token?: string) => {
      const data = RecordJob.parse(job.data);
      const prefix = recordingPrefix(data.room, data.recordingId);
      const after: FinalizeJob = { room: data.room, recordingId: data.recordingId, manifestKey: prefix + rel.manifest };
      // A recording already begun (its ingest crashed, was killed or handed it over): go on with it.
      const objects = ingestStore(deps, data);
      let previous = await objects.readManifest();
      if (previous?.status === 'recording' && (await followLiveRecorder(control, data.recordingId, log))) {
        previous = await objects.readManifest();
        if (draining && previous?.status === 'recording') {
          // The followed recorder was handed over by this process's own drain: so is this job.
          await job.moveToDelayed(Date.now(), token);
          throw new DelayedError();
        }
      }
      if (previous && previous.status !== 'recording') return { skipped: `recording is ${previous.status}` };
      const pickedUpMs = Date.now();
      // A job can outlive its room (a late retry, a webhook replayed after the room ended): never
      // create a room by joining it.
      const [resume, [info]] = await Promise.all([
        previous ? prepareResume(deps, data, previous, log) : undefined,
        rooms.listRooms([data.room]),
      ]);
      if (resume) Object.assign(resume, { prepareMs: Date.now() - pickedUpMs, pickedUpAt: new Date(pickedUpMs).toISOString() });
      if (!info || info.sid !== data.roomSid) {
        if (resume) {
          await closeLeftOpen(deps, data, resume, log);
          await enqueueAfterRoom(queues.flows, after);
          return { closed: 'the room ended while no ingest recorded it' };
        }
        log.info({ room: data.room, roomSid: data.roomSid }, 'room session is gone; nothing to record');
        return { skipped: 'room not live' };
      }
      const options = roomOptions(info.metadata);
      if (options.problem) log.warn({ room: data.room, problem: options.problem }, 'room metadata malformed: recorded as private');
      if (cfg.FLAC_ENCODER === 'libflac') await loadFlac();
      const rec = new Recording(cfg, data, s3, control, log, previous?.visibility ?? options.visibility, resume);
      live.add(rec);
      // Transcription and the archive files are made while the room runs, so little is left when it ends.
      await queues.live.add('live', after, { jobId: liveTranscribeJobId(data.recordingId), ...LIVE_JOB_OPTIONS });
      await queues.archive.add('archive', after, { jobId: liveArchiveJobId(data.recordingId), ...LIVE_JOB_OPTIONS });
      try {
        const result = await rec.run();
        if (result.handedOver) {
          // Back in the queue at once: another ingest (or this one restarted) resumes it.
          await job.moveToDelayed(Date.now(), token);
          log.info({ recordingId: data.recordingId }, 'record job back in the queue for another ingest');
          throw new DelayedError();
        }
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
      // A killed ingest's rooms are noticed as stalled and taken by another within ~2–3.5 s: the
      // lock (renewed every 1.5 s) lapses ≤ 3 s after the kill, stalled jobs are looked for every
      // 0.5 s. A lock lapsed by a stall (Redis away, a starved event loop) is safe: the job then
      // follows the recorder's pulse instead of resuming it. A recording can be resumed many times.
      lockDuration: 3_000,
      stalledInterval: 500,
      maxStalledCount: 1000,
    },
  );
  const MB = 1024 * 1024;
  const stopWatching = watchSpool(cfg.SPOOL_DIR, { minFreeBytes: cfg.SPOOL_MIN_FREE_MB * MB, maxSpooledBytes: cfg.SPOOL_MAX_MB * MB }, log, (accept) => {
    // Rooms in progress are not touched; other ingests (or this one, later) take the new ones.
    if (accept) worker.resume();
    else void worker.pause(true).catch((err) => log.error({ err }, 'could not pause the record worker'));
  });
  worker.on('failed', (job, err) => log.error({ err, jobId: job?.id }, 'record job failed'));
  worker.on('error', (err) => {
    // After a Redis outage the job may be held again (the same worker followed its own recorder
    // under a new lock): finishing the first hold is then refused, and the follower finishes it.
    if (/^(Lock mismatch|Missing lock) for job/.test(err.message)) log.warn({ err }, 'record job already held again (after a lock lapse); the holder finishes it');
    else log.error({ err }, 'record worker error');
  });

  return {
    worker,
    /** SIGTERM: stop taking rooms; flush and upload the ones in progress and hand them to another ingest. */
    drain: async () => {
      draining = true;
      stopWatching();
      const closing = worker.close();
      for (const rec of live) rec.handOver('ingest shutting down');
      await closing;
    },
  };
}
