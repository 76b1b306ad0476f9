import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import archiver from 'archiver';
import express, { Router } from 'express';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { rel } from '../contracts/layout';
import { removeFromIndex } from '../storage/recording-index';
import { requireHost, requireListener } from './access';
import { HttpError } from './errors';
import { serveObject, presignedUrl } from './objects';
import { recordingView } from './recording-view';
import { ApiDeps, loadRecording, RecordingContext } from './recording-context';

const YEAR = 31_536_000;
const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';

/** What the api serves of a recording, to whom, and how long caches may keep it. */
interface FileKind {
  pattern: RegExp;
  hostOnly?: boolean;
  /** Cache lifetime (s) given the recording's state. */
  maxAge: (live: boolean) => number;
  contentType?: string;
}
const FILES: FileKind[] = [
  { pattern: /^manifest\.json$/, maxAge: () => 0 },
  { pattern: /^hls\/(index|live)\.m3u8$/, maxAge: (live) => (live ? 1 : 300), contentType: PLAYLIST_TYPE },
  { pattern: /^hls\/seg_\d{6}\.ts$/, maxAge: () => YEAR, contentType: 'video/mp2t' },
  { pattern: /^final\/(mix\.(opus|m4a|mp3)|waveform\.json|speakers\.json)$/, maxAge: () => 300 },
  { pattern: /^final\/speakers\/[A-Za-z0-9_~.-]{1,64}\.opus$/, maxAge: () => 300, hostOnly: true },
  { pattern: /^transcript\/transcript\.(json|vtt|srt|txt)$/, maxAge: () => 300 },
  { pattern: /^replay\/(index\.html|data\.json)$/, maxAge: () => 0 },
  { pattern: /^replay\/(replay\.js|replay\.css|hls\.min\.js)$/, maxAge: () => 300 },
];

/** Downloads by name: what is in the file, and who may have it. */
const DOWNLOADS: Record<string, { key: string; hostOnly?: boolean }> = {
  'mix.opus': { key: rel.mixArchive('opus') },
  'mix.m4a': { key: rel.mixArchive('m4a') },
  'mix.mp3': { key: rel.mixArchive('mp3') },
  'transcript.json': { key: rel.transcript('json') },
  'transcript.vtt': { key: rel.transcript('vtt') },
  'transcript.srt': { key: rel.transcript('srt') },
  'transcript.txt': { key: rel.transcript('txt') },
};

const LinkRequest = z.object({ ttlSeconds: z.number().int().min(60).max(30 * 24 * 3600).default(24 * 3600) }).strict();
const DownloadQuery = z.object({ via: z.enum(['api', 'presigned']).default('api') }).passthrough();

function cacheControl(r: RecordingContext, maxAge: number): string {
  if (maxAge === 0) return 'no-cache';
  const scope = r.manifest.visibility === 'private' ? 'private' : 'public';
  return `${scope}, max-age=${maxAge}${maxAge === YEAR ? ', immutable' : ''}`;
}

/** A recording: its description with URLs, its files (HLS for players, downloads for hosts), deletion and links. */
export function recordingFilesRouter(deps: ApiDeps): Router {
  const { cfg, s3 } = deps;
  const bucket = cfg.S3_BUCKET;
  const router = Router();
  const small = express.json({ limit: '4kb' });

  router.get('/v1/rooms/:room/recordings/:recordingId', async (req, res) => {
    const r = await loadRecording(deps, req);
    requireListener(r.access, r.manifest.visibility);
    res.set('Cache-Control', 'no-cache').json(recordingView(r));
  });

  router.delete('/v1/rooms/:room/recordings/:recordingId', async (req, res) => {
    const r = await loadRecording(deps, req);
    const host = requireHost(r.access);
    if (r.manifest.status === 'recording') throw new HttpError(409, 'recording_live', 'stop the recording before deleting it');
    let deleted = 0;
    for (;;) {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: r.prefix, MaxKeys: 1000 }));
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length === 0) break;
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
      deleted += keys.length;
    }
    await removeFromIndex(s3, bucket, r.room, r.recordingId, r.manifest.visibility, new Date(r.manifest.startedAt));
    deps.cache.invalidate(r.prefix);
    deps.log.info({ room: r.room, recordingId: r.recordingId, host, deleted }, 'recording deleted');
    res.status(204).end();
  });

  router.post('/v1/rooms/:room/recordings/:recordingId/links', small, async (req, res) => {
    const r = await loadRecording(deps, req);
    requireHost(r.access);
    const body = LinkRequest.safeParse(req.body ?? {});
    if (!body.success) throw new HttpError(400, 'invalid_body', body.error.issues[0]?.message ?? 'invalid body');
    const link = deps.access.signLink(r.room, r.recordingId, body.data.ttlSeconds);
    res.status(201).json({ replayUrl: `${r.url('replay/index.html', false)}?${link.query}`, recordingUrl: `${r.url('', false)}?${link.query}`, query: link.query, expiresAt: link.expiresAt.toISOString() });
  });

  // Everything a host may take away, in one zip made while it is sent (never whole in memory).
  router.get('/v1/rooms/:room/recordings/:recordingId/download/all.zip', async (req, res) => {
    const r = await loadRecording(deps, req);
    requireHost(r.access);
    const entries = [
      ...r.manifest.speakers.filter((sp) => r.manifest.files[`speaker.${sp.key}`]).map((sp) => ({ key: rel.speakerFile(sp.key), name: `speakers/${sp.key}.opus` })),
      ...(['json', 'vtt', 'srt', 'txt'] as const).filter((e) => r.manifest.files[`transcript.${e}`]).map((e) => ({ key: rel.transcript(e), name: `transcript.${e}` })),
    ];
    if (entries.length === 0) throw new HttpError(404, 'not_ready', 'the recording has no speaker files or transcripts yet');
    res.status(200).set({ 'Content-Type': 'application/zip', 'Content-Disposition': `attachment; filename="${r.recordingId}.zip"`, 'Cache-Control': 'private, no-store' });
    const zip = archiver('zip', { store: true });
    zip.on('error', (err) => {
      deps.log.warn({ err, recordingId: r.recordingId }, 'zip failed mid-stream');
      res.destroy(err);
    });
    zip.pipe(res);
    // One object open at a time: the next is fetched once the previous entry is written.
    for (const e of entries) {
      const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: r.prefix + e.key }));
      await new Promise<void>((resolve, reject) => {
        zip.once('entry', () => resolve());
        zip.once('error', reject);
        zip.append(obj.Body as Readable, { name: e.name });
      });
    }
    await zip.finalize();
  });

  router.get('/v1/rooms/:room/recordings/:recordingId/download/*file', async (req, res) => {
    const r = await loadRecording(deps, req);
    const file = ([] as string[]).concat(req.params.file as unknown as string[]).join('/');
    const speaker = /^speakers\/([A-Za-z0-9_~.-]{1,64})\.opus$/.exec(file);
    const d = speaker ? { key: rel.speakerFile(speaker[1]), hostOnly: true } : DOWNLOADS[file];
    if (!d) throw new HttpError(400, 'invalid_parameter', `no download named "${file.slice(0, 64)}"`);
    if (d.hostOnly) requireHost(r.access);
    else requireListener(r.access, r.manifest.visibility);
    const q = DownloadQuery.safeParse(req.query);
    if (!q.success) throw new HttpError(400, 'invalid_parameter', 'via must be api or presigned');
    const name = `${r.room}-${r.recordingId}-${file.replace('/', '-')}`;
    if (q.data.via === 'presigned') {
      res.set('Cache-Control', 'private, no-store').redirect(302, await presignedUrl(s3, bucket, r.prefix + d.key, cfg.PRESIGN_TTL_SECONDS, name));
      return;
    }
    await serveObject(s3, bucket, r.prefix + d.key, req, res, { cacheControl: 'private, max-age=300', downloadAs: name });
  });

  // The recording's files as players and the replay page reach them (relative URLs).
  router.get('/v1/rooms/:room/recordings/:recordingId/*file', async (req, res) => {
    const file = ([] as string[]).concat(req.params.file as unknown as string[]).join('/');
    const kind = FILES.find((f) => f.pattern.test(file));
    if (!kind) throw new HttpError(400, 'invalid_parameter', 'no such kind of recording file');
    const r = await loadRecording(deps, req);
    if (kind.hostOnly) requireHost(r.access);
    else requireListener(r.access, r.manifest.visibility);
    const live = r.manifest.status === 'recording';
    res.set('Access-Control-Allow-Origin', '*');
    res.set('Cache-Control', cacheControl(r, kind.maxAge(live)));
    if (file.startsWith('hls/')) return serveHls(deps, r, file, kind, res, live);
    await serveObject(s3, bucket, r.prefix + file, req, res, { cacheControl: cacheControl(r, kind.maxAge(live)), contentType: kind.contentType });
  });

  return router;
}

/** Playlists and segments from the edge cache; a private room's playlists carry the caller's credentials on to the segments. */
async function serveHls(deps: ApiDeps, r: RecordingContext, file: string, kind: FileKind, res: express.Response, live: boolean) {
  const playlist = file.endsWith('.m3u8');
  const obj = await deps.cache.get(r.prefix + file, playlist ? (live ? 500 : 5000) : 60_000);
  if (!obj) throw new HttpError(404, 'not_found', 'no such recording file');
  let body = obj.body;
  if (playlist && r.access.query) {
    body = Buffer.from(body.toString('utf8').split('\n').map((l) => (l && !l.startsWith('#') ? `${l}${l.includes('?') ? '&' : '?'}${r.access.query}` : l)).join('\n'));
  }
  res.status(200).set('Content-Type', kind.contentType!).set('Content-Length', String(body.length));
  if (obj.etag && !r.access.query) res.set('ETag', obj.etag);
  res.end(body);
}

