import express, { Router } from 'express';
import path from 'node:path';
import { z } from 'zod';
import { recordingPrefix } from '../contracts/layout';
import { callerCache, PERSONAL_CACHE } from '../contracts/recording-files';
import type { Control } from '../shared/control';
import { listIndex } from '../storage/recording-index';
import { LINK_ANY_RECORDING, requireHost, requireListener, scopeTo } from './access';
import { HttpError } from './errors';
import { parseParam, RoomName } from './params';
import { cachedManifest, type ApiDeps } from './recording-context';

/** The live player's files: built into dist/player/live, or read from src/ under ts-jest. */
const PLAYER = path.resolve(__dirname, '..', 'player', 'live');
const HLS_JS = require.resolve('hls.js/dist/hls.min.js');
const LinkRequest = z.object({ ttlSeconds: z.number().int().min(60).max(30 * 24 * 3600).default(24 * 3600) }).strict();

/** The live player page per room, its status endpoint (live? who is speaking? replay ready?) and room-wide links. */
export function liveRouter(deps: ApiDeps & { control: Control }): Router {
  const { cfg, control } = deps;
  const base = cfg.PUBLIC_BASE_URL.replace(/\/$/, '');
  const router = Router();

  // The page is the same for everyone (it reads its credentials from its own URL), but a URL that
  // carries them is not for a shared cache to keep.
  router.get('/v1/rooms/:room/live', async (req, res) => {
    parseParam(RoomName, req.params.room, 'room');
    const c = await deps.access.identify(req);
    if (c.kind === 'invalid') throw c.error;
    res.set('Cache-Control', callerCache(c.kind !== 'none', 'public, max-age=300')).sendFile(path.join(PLAYER, 'index.html'), { cacheControl: false });
  });
  router.use('/player/live', express.static(PLAYER, { maxAge: '5m', index: false }));
  router.get('/player/hls.min.js', (_req, res) => res.set('Cache-Control', 'public, max-age=86400').sendFile(HLS_JS));

  router.get('/v1/rooms/:room/live/status', async (req, res) => {
    const room = parseParam(RoomName, req.params.room, 'room');
    const roomAccess = await deps.access.resolve(req, room);
    const roomUrl = `${base}/v1/rooms/${encodeURIComponent(room)}`;
    res.set('Cache-Control', callerCache(roomAccess.credentialed, 'no-cache')).set('Access-Control-Allow-Origin', '*');
    const active = await control.getActive(room);
    if (active) {
      // A mark that does not say it is public is private.
      const visibility = active.visibility === 'public' ? 'public' : 'private';
      const access = scopeTo(roomAccess, { ...active, endedAt: null });
      requireListener(access, visibility);
      const withCreds = (url: string) => (visibility === 'private' && access.query ? `${url}?${access.query}` : url);
      const speaking = await control.getSpeaking(room);
      res.json({
        room,
        live: true,
        recordingId: active.recordingId,
        startedAt: active.startedAt,
        visibility,
        // The EVENT playlist: LL-HLS at the edge, and every segment since the start (live rewind).
        playlist: withCreds(`${roomUrl}/recordings/${active.recordingId}/hls/index.m3u8`),
        speaking: speaking?.recordingId === active.recordingId ? speaking : null,
        replay: null,
      });
      return;
    }
    // Not live: the room's latest recording, and whether its replay page is there yet.
    const { entries } = await listIndex(deps.bucket, { room, includePrivate: roomAccess.role !== 'anonymous', limit: 1 });
    const e = entries[0];
    const m = e ? await cachedManifest(deps, room, recordingPrefix(room, e.recordingId)) : null;
    if (!m) throw new HttpError(404, 'room_not_found', 'this room is not live and has no recordings');
    const access = scopeTo(roomAccess, m);
    // A private room's recording is not revealed to whom it is not for (as if the room had none).
    if (m.visibility === 'private' && access.role === 'anonymous') throw new HttpError(404, 'room_not_found', 'this room is not live and has no recordings');
    const withCreds = (url: string) => (m.visibility === 'private' && access.query ? `${url}?${access.query}` : url);
    res.json({
      room,
      live: m.status === 'recording',
      recordingId: m.recordingId,
      startedAt: m.startedAt,
      visibility: m.visibility,
      playlist: null,
      speaking: null,
      replay: { ready: !!m.files.replay, url: withCreds(`${roomUrl}/recordings/${m.recordingId}/replay/index.html`) },
    });
  });

  // A signed link to the room's live page and every recording of it, for a private room's listeners.
  router.post('/v1/rooms/:room/links', express.json({ limit: '4kb' }), async (req, res) => {
    const room = parseParam(RoomName, req.params.room, 'room');
    requireHost(await deps.access.resolve(req, room));
    const body = LinkRequest.safeParse(req.body ?? {});
    if (!body.success) throw new HttpError(400, 'invalid_body', body.error.issues[0]?.message ?? 'invalid body');
    const link = deps.access.signLink(room, LINK_ANY_RECORDING, body.data.ttlSeconds);
    res.status(201).set('Cache-Control', PERSONAL_CACHE).json({ livePlayerUrl: `${base}/v1/rooms/${encodeURIComponent(room)}/live?${link.query}`, query: link.query, expiresAt: link.expiresAt.toISOString() });
  });

  return router;
}
