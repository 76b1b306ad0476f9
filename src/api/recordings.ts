import { roomService } from '../shared/livekit';
import express, { Router } from 'express';
import type { Config } from '../config';
import { makeRecordingId } from '../contracts/layout';
import { recordJobId, RecordJob } from '../contracts/jobs';
import type { Control } from '../shared/control';
import type { Logger } from '../shared/log';
import { Queues, RECORD_JOB_OPTIONS } from '../shared/queues';
import { accessControl, requireHost } from './access';
import { HttpError } from './errors';
import { parseParam, RoomName } from './params';

/** Hosts start and stop a room's recording by hand. */
export function recordingsRouter(deps: {
  cfg: Config;
  queues: Queues;
  control: Control;
  access: ReturnType<typeof accessControl>;
  log: Logger;
}): Router {
  const { cfg, queues, control, log } = deps;
  const rooms = roomService(cfg);
  const authorize = async (req: express.Request, room: string) => requireHost(await deps.access.resolve(req, room));
  const router = Router();
  const small = express.json({ limit: '16kb' });

  router.post('/v1/rooms/:room/recording', small, async (req, res) => {
    const room = parseParam(RoomName, req.params.room, 'room');
    const host = await authorize(req, room);
    const [info] = await rooms.listRooms([room]);
    if (!info) throw new HttpError(404, 'room_not_found', `no live room named "${room}"`);
    const active = await control.getActive(room);
    if (active) throw new HttpError(409, 'already_recording', `room is being recorded (${active.recordingId})`);
    const now = new Date();
    const job: RecordJob = { room, roomSid: info.sid, recordingId: makeRecordingId(now, info.sid), trigger: 'api' };
    await queues.record.add('record', job, {
      jobId: `${recordJobId(info.sid)}-api-${now.getTime()}`,
      ...RECORD_JOB_OPTIONS,
    });
    log.info({ room, host, recordingId: job.recordingId }, 'recording started by host');
    res.status(202).json({ recordingId: job.recordingId, room });
  });

  router.delete('/v1/rooms/:room/recording', async (req, res) => {
    const room = parseParam(RoomName, req.params.room, 'room');
    const host = await authorize(req, room);
    const active = await control.getActive(room);
    if (!active) throw new HttpError(404, 'not_recording', 'room is not being recorded');
    await control.requestStop({ recordingId: active.recordingId }, `stopped by ${host}`);
    res.status(202).json({ recordingId: active.recordingId, room });
  });

  return router;
}
