import type { Request } from 'express';
import type { Config } from '../config';
import { recordingPrefix, rel } from '../contracts/layout';
import { Manifest } from '../contracts/manifest';
import type { Logger } from '../shared/log';
import type { Bucket } from '../storage/objects';
import { RecordingStore } from '../storage/recording-store';
import { Access, accessControl, scopeTo } from './access';
import type { EdgeCache } from './edge-cache';
import type { EdgeRelay } from './live-edge/edge-relay';
import { HttpError } from './errors';
import { parseParam, RecordingIdParam, RoomName } from './params';

export interface ApiDeps {
  cfg: Config;
  bucket: Bucket;
  log: Logger;
  access: ReturnType<typeof accessControl>;
  cache: EdgeCache;
  /** The live edge (LL-HLS parts from Redis); absent: live HLS comes from S3 only. */
  edge?: EdgeRelay;
}

export interface RecordingContext {
  room: string;
  recordingId: string;
  prefix: string;
  store: RecordingStore;
  manifest: Manifest;
  /** The caller's access, narrowed to this recording (see access.ts: a reused room name). */
  access: Access;
  /** Absolute URL of one of the recording's api resources, with the caller's credentials if the room is private. */
  url: (path: string, withCredentials?: boolean) => string;
  /** Absolute URL of another recording of the same room (the other part of a conversation). */
  otherRecordingUrl: (recordingId: string) => string;
}

/** JSON that may be anything (a manifest cut short, an object someone put by hand): undefined if it does not parse. */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Manifests parsed once per cached copy: a live room's players ask many times a second. */
const parsed = new WeakMap<object, Manifest>();

/**
 * A manifest through the edge cache (a second old at most), or null. It must name the room asked
 * for: two room names can share a safe key (a 48-bit hash), and a deleted recording is gone.
 */
export async function cachedManifest(deps: Pick<ApiDeps, 'cache'>, room: string, prefix: string, ttlMs = 1000): Promise<Manifest | null> {
  const obj = await deps.cache.get(prefix + rel.manifest, ttlMs);
  if (!obj) return null;
  let manifest = parsed.get(obj);
  if (!manifest) {
    const r = Manifest.safeParse(parseJson(obj.body));
    if (!r.success) return null;
    parsed.set(obj, (manifest = r.data));
  }
  if (manifest.room !== room || manifest.status === 'deleting') return null;
  return manifest;
}

/** Validates the path, reads the manifest (404 if none) and who the caller is for this recording. */
export async function loadRecording(deps: ApiDeps, req: Request): Promise<RecordingContext> {
  const room = parseParam(RoomName, req.params.room, 'room');
  const recordingId = parseParam(RecordingIdParam, req.params.recordingId, 'recordingId');
  const roomAccess = await deps.access.resolve(req, room);
  const prefix = recordingPrefix(room, recordingId);
  const manifest = await cachedManifest(deps, room, prefix);
  if (!manifest || manifest.recordingId !== recordingId) throw new HttpError(404, 'recording_not_found', 'no such recording');
  const access = scopeTo(roomAccess, manifest);
  const store = new RecordingStore(deps.bucket, room, recordingId);
  store.visibility = manifest.visibility;
  const base = `${deps.cfg.PUBLIC_BASE_URL.replace(/\/$/, '')}/v1/rooms/${encodeURIComponent(room)}/recordings/${recordingId}`;
  const url = (p: string, withCredentials = manifest.visibility === 'private') =>
    `${base}${p ? `/${p}` : ''}${withCredentials && access.query ? `?${access.query}` : ''}`;
  const otherRecordingUrl = (id: string) => url('').replace(`/recordings/${recordingId}`, `/recordings/${id}`);
  return { room, recordingId, prefix, store, manifest, access, url, otherRecordingUrl };
}
