import { Router } from 'express';
import { z } from 'zod';
import { recordingPrefix } from '../contracts/layout';
import { callerCache } from '../contracts/recording-files';
import type { Control } from '../shared/control';
import { listIndex } from '../storage/recording-index';
import type { Access } from './access';
import { HttpError } from './errors';
import { parseParam, RoomName } from './params';
import { cachedManifest, parseJson, type ApiDeps } from './recording-context';

const Page = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().regex(/^[A-Za-z0-9_-]{1,600}$/, 'is not a cursor').optional(),
}).passthrough();

/** Rooms live now, and past recordings newest first (one LIST call per page, see recording-index). */
export function listingRouter(deps: ApiDeps & { control: Control }): Router {
  const { cfg } = deps;
  const base = cfg.PUBLIC_BASE_URL.replace(/\/$/, '');
  const router = Router();

  router.get('/v1/rooms', async (req, res) => {
    const c = await deps.access.identify(req);
    if (c.kind === 'invalid') throw c.error;
    // Private rooms are not announced: their listeners are given the link. A mark without a
    // visibility is not known to be public.
    const active = (await deps.control.listActive()).filter((a) => a.visibility === 'public');
    active.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    res.set('Cache-Control', callerCache(c.kind !== 'none', 'public, max-age=2')).json({
      rooms: active.map((a) => ({
        room: a.room,
        recordingId: a.recordingId,
        startedAt: a.startedAt,
        livePlayer: `${base}/v1/rooms/${encodeURIComponent(a.room)}/live`,
        livePlaylist: `${base}/v1/rooms/${encodeURIComponent(a.room)}/recordings/${a.recordingId}/hls/live.m3u8`,
      })),
    });
  });

  /** `access`: the caller's for `room`; a private recording is listed only if it covers it. */
  const page = async (room: string | undefined, access: Access | null, query: unknown) => {
    const p = Page.safeParse(query);
    if (!p.success) throw new HttpError(400, 'invalid_parameter', `${p.error.issues[0]?.path.join('.')} ${p.error.issues[0]?.message}`);
    const cursor = p.data.cursor ? Buffer.from(p.data.cursor, 'base64url').toString('utf8') : undefined;
    const includePrivate = !!access && access.role !== 'anonymous';
    const { entries, cursor: next } = await listIndex(deps.bucket, { room, includePrivate, limit: p.data.limit, cursor });
    const items = await Promise.all(entries.map(async (e) => {
      const prefix = `rooms/${e.roomKey}/${e.recordingId}/`;
      // The manifest decides, not the index entry: its room (two names can share a key) and its visibility.
      const peek = await deps.cache.get(prefix + 'manifest.json', 2000);
      const roomName = room ?? (peek ? (parseJson(peek.body) as { room?: unknown } | undefined)?.room : undefined);
      if (typeof roomName !== 'string') return null;
      const m = await cachedManifest(deps, roomName, prefix, 2000);
      if (!m || m.recordingId !== e.recordingId || recordingPrefix(m.room, m.recordingId) !== prefix) return null;
      if (m.visibility !== 'public' && !(includePrivate && access!.covers(m))) return null;
      const url = `${base}/v1/rooms/${encodeURIComponent(m.room)}/recordings/${e.recordingId}`;
      return {
        room: m.room,
        recordingId: e.recordingId,
        status: m.status,
        visibility: m.visibility,
        startedAt: m.startedAt,
        durationMs: m.durationMs,
        speakers: m.speakers.map((sp) => sp.name),
        url,
        replay: m.files.replay ? `${url}/replay/index.html` : null,
        stopReason: m.stopReason,
        continues: m.continues,
        continuedBy: m.continuedBy,
      };
    }));
    return { recordings: items.filter((x) => x !== null), nextCursor: next ? Buffer.from(next).toString('base64url') : null };
  };

  router.get('/v1/recordings', async (req, res) => {
    // Public recordings only; credentials add nothing here, but ones that do not verify are refused as everywhere.
    const c = await deps.access.identify(req);
    if (c.kind === 'invalid') throw c.error;
    res.set('Cache-Control', callerCache(c.kind !== 'none', 'public, max-age=5')).json(await page(undefined, null, req.query));
  });

  router.get('/v1/rooms/:room/recordings', async (req, res) => {
    const room = parseParam(RoomName, req.params.room, 'room');
    const access = await deps.access.resolve(req, room);
    res.set('Cache-Control', callerCache(access.credentialed, 'public, max-age=5')).json(await page(room, access, req.query));
  });

  return router;
}

