import express, { Router } from 'express';
import { WebhookReceiver } from 'livekit-server-sdk';
import type { Config } from '../config';
import { makeRecordingId } from '../contracts/layout';
import { recordJobId, RecordJob } from '../contracts/jobs';
import { roomOptions } from '../contracts/room-metadata';
import type { Control } from '../shared/control';
import type { Logger } from '../shared/log';
import { metrics } from '../shared/metrics';
import { Queues, RECORD_JOB_OPTIONS } from '../shared/queues';
import { sendError } from './errors';

/**
 * LiveKit webhooks. The signature covers the raw body (sha256 claim in the Authorization JWT), so
 * the body is read raw and verified before it is parsed.
 */
export function webhookRouter(cfg: Config, queues: Queues, control: Control, log: Logger): Router {
  const receiver = new WebhookReceiver(cfg.LIVEKIT_API_KEY, cfg.LIVEKIT_API_SECRET);
  const router = Router();
  router.post(
    '/v1/webhooks/livekit',
    express.raw({ type: () => true, limit: cfg.MAX_WEBHOOK_BYTES }),
    async (req, res, next) => {
      const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      let event;
      try {
        event = await receiver.receive(body, req.get('Authorization'));
      } catch (err) {
        const malformed = err instanceof SyntaxError || /decode|parse|json/i.test(String((err as Error)?.message));
        const outcome = malformed ? 'malformed' : 'unauthorized';
        metrics.webhooks.inc({ event: 'unknown', outcome });
        log.warn({ outcome, reason: String((err as Error)?.message), ip: req.ip }, 'webhook rejected');
        return malformed
          ? sendError(res, 400, 'malformed_webhook', 'webhook body is not a LiveKit event')
          : sendError(res, 401, 'invalid_signature', 'webhook signature does not verify');
      }
      try {
        const room = event.room;
        if (event.event === 'room_started' && room?.name && room.sid) {
          const options = roomOptions(room.metadata);
          if (options.problem) log.warn({ room: room.name, problem: options.problem }, 'room metadata malformed: treated as private and not recorded automatically');
          if (!options.autoRecord) {
            metrics.webhooks.inc({ event: event.event, outcome: 'opted_out' });
            log.info({ room: room.name }, 'room opted out of recording');
            return res.json({ ok: true, recording: false });
          }
          const createdMs = Number(room.creationTime ?? 0) * 1000 || Date.now();
          const job: RecordJob = {
            room: room.name,
            roomSid: room.sid,
            recordingId: makeRecordingId(new Date(createdMs), room.sid),
            trigger: 'webhook',
          };
          // One job per room session: BullMQ ignores an add whose jobId exists.
          await queues.record.add('record', job, {
            jobId: recordJobId(room.sid),
            ...RECORD_JOB_OPTIONS,
          });
          metrics.webhooks.inc({ event: event.event, outcome: 'enqueued' });
          log.info({ room: room.name, recordingId: job.recordingId }, 'record job enqueued');
          return res.json({ ok: true, recordingId: job.recordingId });
        }
        if (event.event === 'room_finished' && room?.sid) {
          await control.requestStop({ roomSid: room.sid }, 'room finished');
          metrics.webhooks.inc({ event: event.event, outcome: 'stop_requested' });
          return res.json({ ok: true });
        }
        metrics.webhooks.inc({ event: event.event || 'unknown', outcome: 'ignored' });
        res.json({ ok: true });
      } catch (err) {
        next(err);
      }
    },
  );
  return router;
}
