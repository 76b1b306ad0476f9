import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { roomService } from '../shared/livekit';
import express, { Router } from 'express';
import { Readable } from 'node:stream';
import type { Config } from '../config';
import { makeRecordingId, recordingPrefix } from '../contracts/layout';
import { recordJobId, RecordJob } from '../contracts/jobs';
import type { Control } from '../shared/control';
import type { Logger } from '../shared/log';
import type { Queues } from '../shared/queues';
import { hostAuth } from './auth';
import { HttpError } from './errors';
import { parseParam, RecordingIdParam, RoomName } from './params';

/** The files of a recording the api serves, and how long a cache may keep them. */
const PUBLIC_FILES: Array<{ pattern: RegExp; cache?: string }> = [
  { pattern: /^manifest\.json$/, cache: 'no-cache' },
  { pattern: /^hls\/(index|live)\.m3u8$/ },
  { pattern: /^hls\/seg_\d{6}\.ts$/ },
  { pattern: /^final\/(mix\.(opus|m4a|mp3)|waveform\.json|speakers\.json)$/ },
  { pattern: /^final\/speakers\/[A-Za-z0-9_~.-]{1,64}\.opus$/ },
  { pattern: /^transcript\/transcript\.(json|vtt|srt|txt)$/ },
  { pattern: /^replay\/(index\.html|data\.json|replay\.js|replay\.css|hls\.min\.js)$/ },
];

/** Starting/stopping a recording by hand, a recording's manifest and its HLS files. */
export function recordingsRouter(deps: {
  cfg: Config;
  queues: Queues;
  control: Control;
  s3: S3Client;
  log: Logger;
}): Router {
  const { cfg, queues, control, s3, log } = deps;
  const rooms = roomService(cfg);
  const authorize = hostAuth(cfg);
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
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 30 * 24 * 3600 },
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

  // A recording's files, as listeners and players reach them (the replay page uses relative URLs).
  router.get('/v1/rooms/:room/recordings/:recordingId/*file', async (req, res) => {
    const file = ([] as string[]).concat(req.params.file as unknown as string[]).join('/');
    const kind = PUBLIC_FILES.find((f) => f.pattern.test(file));
    if (!kind) throw new HttpError(400, 'invalid_parameter', 'no such kind of recording file');
    const key = objectKey(req.params.room, req.params.recordingId, file);
    res.set('Access-Control-Allow-Origin', '*');
    await pipeObject(s3, cfg.S3_BUCKET, key, res, kind.cache);
  });

  return router;
}

function objectKey(room: unknown, recordingId: unknown, relKey: string): string {
  return recordingPrefix(parseParam(RoomName, room, 'room'), parseParam(RecordingIdParam, recordingId, 'recordingId')) + relKey;
}

/** Streams an S3 object to the client with its own type and caching headers, never buffering it. */
async function pipeObject(s3: S3Client, bucket: string, key: string, res: express.Response, cacheControl?: string) {
  let obj;
  try {
    obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  } catch (err) {
    if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') {
      throw new HttpError(404, 'not_found', 'no such recording file');
    }
    throw err;
  }
  res.status(200);
  if (obj.ContentType) res.set('Content-Type', obj.ContentType);
  if (obj.ContentLength !== undefined) res.set('Content-Length', String(obj.ContentLength));
  res.set('Cache-Control', cacheControl ?? obj.CacheControl ?? 'no-cache');
  if (obj.ETag) res.set('ETag', obj.ETag);
  (obj.Body as Readable).pipe(res);
}
