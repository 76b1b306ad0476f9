import archiver from 'archiver';
import express, { Router } from 'express';
import { z } from 'zod';
import { transition } from '../contracts/lifecycle';
import { cacheControl, canRead, downloadKey, fileKindOf, PERSONAL_CACHE as PERSONAL, type FileMatch } from '../contracts/recording-files';
import { removeFromIndex } from '../storage/recording-index';
import { RecordingStore } from '../storage/recording-store';
import { requireHost, requireListener, scopeTo } from './access';
import { HttpError } from './errors';
import { attachmentName, serveObject } from './objects';
import { parseParam, RecordingIdParam, RoomName } from './params';
import { recordingView } from './recording-view';
import { serveFromEdge } from './live-edge/serve-edge';
import { ApiDeps, loadRecording, RecordingContext } from './recording-context';

const LinkRequest = z.object({ ttlSeconds: z.number().int().min(60).max(30 * 24 * 3600).default(24 * 3600) }).strict();
const DownloadQuery = z.object({ via: z.enum(['api', 'presigned']).default('api') }).passthrough();


/** The table's audience for this caller, or the api's 401/403. */
function authorize(r: RecordingContext, file: FileMatch): void {
  const { audience } = file.kind;
  if (audience === 'internal') throw new HttpError(404, 'not_found', 'no such recording file');
  if (audience === 'host') return void requireHost(r.access);
  if (audience === 'listener') requireListener(r.access, r.manifest.visibility);
  const role = r.access.role === 'host' ? 'host' : r.access.role === 'anonymous' ? 'anonymous' : 'listener';
  if (!canRead(audience, role, r.manifest.visibility)) throw new HttpError(403, 'forbidden', 'not for these credentials');
}

const cacheFor = (r: RecordingContext, file: FileMatch) =>
  cacheControl(file.kind, r.manifest.visibility, { live: r.manifest.status === 'recording', credentialed: r.access.credentialed });

/** A recording: its description with URLs, its files (HLS for players, downloads for hosts), deletion and links. */
export function recordingFilesRouter(deps: ApiDeps): Router {
  const { cfg } = deps;
  const router = Router();
  const small = express.json({ limit: '4kb' });

  router.get('/v1/rooms/:room/recordings/:recordingId', async (req, res) => {
    const r = await loadRecording(deps, req);
    requireListener(r.access, r.manifest.visibility);
    // What it lists depends on who asks (hosts get more), and private URLs carry the credentials.
    res.set('Cache-Control', r.access.credentialed || r.manifest.visibility === 'private' ? PERSONAL : 'no-cache').json(recordingView(r));
  });

  // Delete is final (see RecordingStore.deleteAll); read fresh, not through the cache.
  router.delete('/v1/rooms/:room/recordings/:recordingId', async (req, res) => {
    const room = parseParam(RoomName, req.params.room, 'room');
    const recordingId = parseParam(RecordingIdParam, req.params.recordingId, 'recordingId');
    const roomAccess = await deps.access.resolve(req, room);
    const store = new RecordingStore(deps.bucket, room, recordingId);
    const m = await store.readManifest();
    if (!m || m.room !== room) throw new HttpError(404, 'recording_not_found', 'no such recording');
    const host = requireHost(scopeTo(roomAccess, m));
    if (m.status === 'recording') throw new HttpError(409, 'recording_live', 'stop the recording before deleting it');
    await store.writeManifest(transition(m, 'deleting'));
    deps.cache.invalidate(store.prefix);
    const deleted = await store.deleteAll();
    await removeFromIndex(deps.bucket, room, recordingId, m.visibility, new Date(m.startedAt));
    deps.cache.invalidate(store.prefix);
    deps.log.info({ room, recordingId, host, deleted }, 'recording deleted');
    res.status(204).set('Cache-Control', PERSONAL).end();
  });

  router.post('/v1/rooms/:room/recordings/:recordingId/links', small, async (req, res) => {
    const r = await loadRecording(deps, req);
    requireHost(r.access);
    const body = LinkRequest.safeParse(req.body ?? {});
    if (!body.success) throw new HttpError(400, 'invalid_body', body.error.issues[0]?.message ?? 'invalid body');
    const link = deps.access.signLink(r.room, r.recordingId, body.data.ttlSeconds);
    res.status(201).set('Cache-Control', PERSONAL).json({ replayUrl: `${r.url('replay/index.html', false)}?${link.query}`, recordingUrl: `${r.url('', false)}?${link.query}`, query: link.query, expiresAt: link.expiresAt.toISOString() });
  });

  // Everything a host may take away, in one zip made while it is sent (never whole in memory).
  router.get('/v1/rooms/:room/recordings/:recordingId/download/all.zip', async (req, res) => {
    const r = await loadRecording(deps, req);
    requireHost(r.access);
    const entries = Object.values(r.manifest.files)
      .map((relKey) => ({ relKey, file: fileKindOf(relKey) }))
      .filter((e): e is { relKey: string; file: FileMatch } => !!e.file?.kind.zip)
      .map((e) => ({ relKey: e.relKey, name: e.file.kind.zip!(e.file.match) }))
      .sort((a, b) => a.name.localeCompare(b.name));
    if (entries.length === 0) throw new HttpError(404, 'not_ready', 'the recording has no speaker files or transcripts yet');
    res.status(200).set({ 'Content-Type': 'application/zip', 'Content-Disposition': `attachment; filename="${r.recordingId}.zip"`, 'Cache-Control': PERSONAL });
    // A client that leaves mid-download ends the zip and the S3 request it is reading: otherwise the
    // paused stream would hold its pooled socket for good, and enough of them stall every S3 route.
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const zip = archiver('zip', { store: true });
    zip.on('error', (err) => {
      if (!abort.signal.aborted) deps.log.warn({ err, recordingId: r.recordingId }, 'zip failed mid-stream');
      res.destroy(err);
    });
    abort.signal.addEventListener('abort', () => zip.abort());
    zip.pipe(res);
    // One object open at a time: the next is fetched once the previous entry is written.
    for (const e of entries) {
      if (abort.signal.aborted) return;
      const obj = await r.store.getStream(e.relKey, { signal: abort.signal }).catch((err) => {
        if (abort.signal.aborted) return null;
        throw err;
      });
      if (!obj) {
        if (abort.signal.aborted) return;
        continue;
      }
      const stop = () => obj.body.destroy();
      abort.signal.addEventListener('abort', stop);
      await new Promise<void>((resolve, reject) => {
        zip.once('entry', () => resolve());
        zip.once('error', reject);
        obj.body.once('error', reject);
        abort.signal.addEventListener('abort', () => resolve());
        zip.append(obj.body, { name: e.name });
      });
      abort.signal.removeEventListener('abort', stop);
    }
    if (!abort.signal.aborted) await zip.finalize();
  });

  router.get('/v1/rooms/:room/recordings/:recordingId/download/*file', async (req, res) => {
    const r = await loadRecording(deps, req);
    const name = ([] as string[]).concat(req.params.file as unknown as string[]).join('/');
    const d = downloadKey(name);
    if (!d) throw new HttpError(400, 'invalid_parameter', `no download named "${name.slice(0, 64)}"`);
    authorize(r, d.file);
    const q = DownloadQuery.safeParse(req.query);
    if (!q.success) throw new HttpError(400, 'invalid_parameter', 'via must be api or presigned');
    const downloadAs = attachmentName(`${r.room}-${r.recordingId}-${name.replace('/', '-')}`);
    if (q.data.via === 'presigned') {
      // The presigned URL is itself a credential: never kept by a shared cache (and S3 answers it private too).
      res.set('Cache-Control', PERSONAL).redirect(302, await r.store.presign(d.relKey, cfg.PRESIGN_TTL_SECONDS, downloadAs));
      return;
    }
    await serveObject(r.store, d.relKey, req, res, { cacheControl: cacheFor(r, d.file), contentType: d.file.contentType, downloadAs });
  });

  // The recording's files as players and the replay page reach them (relative URLs).
  router.get('/v1/rooms/:room/recordings/:recordingId/*file', async (req, res) => {
    const relKey = ([] as string[]).concat(req.params.file as unknown as string[]).join('/');
    const file = fileKindOf(relKey);
    if (!file || file.kind.audience === 'internal') throw new HttpError(400, 'invalid_parameter', 'no such kind of recording file');
    const r = await loadRecording(deps, req);
    authorize(r, file);
    res.set('Access-Control-Allow-Origin', '*');
    if (relKey.startsWith('hls/')) return serveHls(deps, r, relKey, file, req, res);
    await serveObject(r.store, relKey, req, res, { cacheControl: cacheFor(r, file), contentType: file.contentType });
  });

  return router;
}

/**
 * Playlists and segments from the edge cache. A private room's playlists carry the caller's
 * credentials on to the segments (players that cannot send headers); such a playlist is the
 * caller's alone. A public room's never carry them: its segments need none.
 */
async function serveHls(deps: ApiDeps, r: RecordingContext, relKey: string, file: FileMatch, req: express.Request, res: express.Response) {
  const playlist = relKey.endsWith('.m3u8');
  const live = r.manifest.status === 'recording';
  if (live && (await serveFromEdge(deps, r, relKey, file, req, res, cacheFor(r, file)))) return;
  if (file.kind.name === 'hls.part') throw new HttpError(404, 'not_found', 'parts exist only while the recording is live');
  const obj = await deps.cache.get(r.prefix + relKey, playlist ? (live ? 500 : 5000) : 60_000);
  if (!obj) throw new HttpError(404, 'not_found', 'no such recording file');
  let body = obj.body;
  const carry = playlist && r.manifest.visibility === 'private' && r.access.query ? r.access.query : '';
  if (carry) {
    const withQuery = (uri: string) => `${uri}${uri.includes('?') ? '&' : '?'}${carry}`;
    // Segment lines, and URIs in tags (the init segment's EXT-X-MAP).
    body = Buffer.from(body.toString('utf8').split('\n').map((l) => (!l ? l : l.startsWith('#') ? l.replace(/URI="([^"]*)"/g, (_m, u: string) => `URI="${withQuery(u)}"`) : withQuery(l))).join('\n'));
  }
  res.status(200).set('Content-Type', file.contentType).set('Content-Length', String(body.length));
  res.set('Cache-Control', carry ? PERSONAL : cacheFor(r, file));
  if (obj.etag && !carry) res.set('ETag', obj.etag);
  res.end(body);
}
