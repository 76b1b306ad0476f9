import type { S3Client } from '@aws-sdk/client-s3';
import type { Request } from 'express';
import type { Config } from '../config';
import { recordingPrefix, rel } from '../contracts/layout';
import { Manifest } from '../contracts/manifest';
import type { Logger } from '../shared/log';
import { Access, accessControl } from './access';
import type { EdgeCache } from './edge-cache';
import { HttpError } from './errors';
import { parseParam, RecordingIdParam, RoomName } from './params';

export interface ApiDeps {
  cfg: Config;
  s3: S3Client;
  log: Logger;
  access: ReturnType<typeof accessControl>;
  cache: EdgeCache;
}

export interface RecordingContext {
  room: string;
  recordingId: string;
  prefix: string;
  manifest: Manifest;
  access: Access;
  /** Absolute URL of one of the recording's api resources, with the caller's credentials if the room is private. */
  url: (path: string, withCredentials?: boolean) => string;
}

/** Manifests parsed once per cached copy: a live room's players ask many times a second. */
const parsed = new WeakMap<object, Manifest>();

/** Validates the path, reads the manifest (404 if none) and who the caller is for this room. */
export async function loadRecording(deps: ApiDeps, req: Request): Promise<RecordingContext> {
  const room = parseParam(RoomName, req.params.room, 'room');
  const recordingId = parseParam(RecordingIdParam, req.params.recordingId, 'recordingId');
  const access = await deps.access.resolve(req, room, recordingId);
  const prefix = recordingPrefix(room, recordingId);
  // The manifest changes while recording; a second in the cache is what a live playlist gets too.
  const obj = await deps.cache.get(prefix + rel.manifest, 1000);
  if (!obj) throw new HttpError(404, 'recording_not_found', 'no such recording');
  let manifest = parsed.get(obj);
  if (!manifest) parsed.set(obj, (manifest = Manifest.parse(JSON.parse(obj.body.toString('utf8')))));
  if (manifest.room !== room) throw new HttpError(404, 'recording_not_found', 'no such recording');
  const base = `${deps.cfg.PUBLIC_BASE_URL.replace(/\/$/, '')}/v1/rooms/${encodeURIComponent(room)}/recordings/${recordingId}`;
  const url = (p: string, withCredentials = manifest.visibility === 'private') =>
    `${base}${p ? `/${p}` : ''}${withCredentials && access.query ? `?${access.query}` : ''}`;
  return { room, recordingId, prefix, manifest, access, url };
}
