import { Router } from 'express';
import { z } from 'zod';
import { rel } from '../contracts/layout';
import { Manifest } from '../contracts/manifest';
import type { Control } from '../shared/control';
import { listIndex } from '../storage/recording-index';
import { HttpError } from './errors';
import { parseParam, RoomName } from './params';
import type { ApiDeps } from './recording-context';

const Page = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().regex(/^[A-Za-z0-9_-]{1,600}$/, 'is not a cursor').optional(),
}).passthrough();

/** Rooms live now, and past recordings newest first (one LIST call per page, see recording-index). */
export function listingRouter(deps: ApiDeps & { control: Control }): Router {
  const { cfg, s3 } = deps;
  const base = cfg.PUBLIC_BASE_URL.replace(/\/$/, '');
  const router = Router();

  router.get('/v1/rooms', async (_req, res) => {
    // Private rooms are not announced: their listeners are given the link.
    const active = (await deps.control.listActive()).filter((a) => a.visibility !== 'private');
    active.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    res.set('Cache-Control', 'public, max-age=2').json({
      rooms: active.map((a) => ({
        room: a.room,
        recordingId: a.recordingId,
        startedAt: a.startedAt,
        livePlayer: `${base}/v1/rooms/${encodeURIComponent(a.room)}/live`,
        livePlaylist: `${base}/v1/rooms/${encodeURIComponent(a.room)}/recordings/${a.recordingId}/hls/live.m3u8`,
      })),
    });
  });

  const page = async (room: string | undefined, includePrivate: boolean, query: unknown) => {
    const p = Page.safeParse(query);
    if (!p.success) throw new HttpError(400, 'invalid_parameter', `${p.error.issues[0]?.path.join('.')} ${p.error.issues[0]?.message}`);
    const cursor = p.data.cursor ? Buffer.from(p.data.cursor, 'base64url').toString('utf8') : undefined;
    const { entries, cursor: next } = await listIndex(s3, cfg.S3_BUCKET, { room, includePrivate, limit: p.data.limit, cursor });
    const items = await Promise.all(entries.map(async (e) => {
      const obj = await deps.cache.get(`rooms/${e.roomKey}/${e.recordingId}/${rel.manifest}`, 2000);
      const m = obj ? Manifest.safeParse(JSON.parse(obj.body.toString('utf8'))) : null;
      if (!m?.success) return null;
      const url = `${base}/v1/rooms/${encodeURIComponent(m.data.room)}/recordings/${e.recordingId}`;
      return {
        room: m.data.room,
        recordingId: e.recordingId,
        status: m.data.status,
        visibility: m.data.visibility,
        startedAt: m.data.startedAt,
        durationMs: m.data.durationMs,
        speakers: m.data.speakers.map((sp) => sp.name),
        url,
        replay: m.data.files.replay ? `${url}/replay/index.html` : null,
      };
    }));
    return { recordings: items.filter((x) => x !== null), nextCursor: next ? Buffer.from(next).toString('base64url') : null };
  };

  router.get('/v1/recordings', async (req, res) => {
    res.set('Cache-Control', 'public, max-age=5').json(await page(undefined, false, req.query));
  });

  router.get('/v1/rooms/:room/recordings', async (req, res) => {
    const room = parseParam(RoomName, req.params.room, 'room');
    const access = await deps.access.resolve(req, room);
    const includePrivate = access.role !== 'anonymous';
    res.set('Cache-Control', includePrivate ? 'private, no-cache' : 'public, max-age=5').json(await page(room, includePrivate, req.query));
  });

  return router;
}

