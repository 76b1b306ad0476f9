import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dispose } from '@livekit/rtc-node';
import { recordingPrefix } from '../../src/contracts/layout';
import { decode } from '../support/audio';
import { testAppEnv } from '../support/env';
import { waitForManifest } from '../support/manifest';
import { checkAgainstSpec } from '../support/openapi';
import { testS3 } from '../support/s3';
import { runScenario, ScenarioSpeaker, sleep } from '../support/scenario';
import { livekitToken } from '../support/tokens';

/**
 * The listening surface on two real recordings, one public and one private: listing, the recording
 * view, downloads (decoded), the zip, presigned links, caching headers, and who may reach what.
 */
const env = testAppEnv();
const api = env.PUBLIC_BASE_URL;
const { s3, bucket } = testS3(env);
const workdir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-listening-'));
const speakers: ScenarioSpeaker[] = [
  { identity: 'ann', freq: 440, presence: [[0, 7_500]] },
  { identity: 'ben', freq: 660, presence: [[0, 7_500]] },
];
const bursts = [
  { speaker: 'ann', freq: 440, atMs: 1_000, durMs: 1_500, dbfs: -12 },
  { speaker: 'ben', freq: 660, atMs: 3_500, durMs: 1_500, dbfs: -12 },
];
const stamp = Date.now();
const rooms = { pub: `listen-pub-${stamp}`, priv: `listen-priv-${stamp}` };
const ids: Record<'pub' | 'priv', string> = { pub: '', priv: '' };
const durationMs: Record<string, number> = {};

beforeAll(async () => {
  for (const which of ['pub', 'priv'] as const) {
    const r = await runScenario({ env, room: rooms[which], speakers, bursts, events: [], endMs: 7_800, metadata: which === 'priv' ? JSON.stringify({ roomcast: { visibility: 'private' } }) : undefined });
    ids[which] = r.active.recordingId;
  }
  for (const which of ['pub', 'priv'] as const) {
    const m = await waitForManifest(s3, bucket, recordingPrefix(rooms[which], ids[which]), (x) => x.status === 'complete' && !!x.files.replay, 90_000);
    expect(m.visibility).toBe(which === 'priv' ? 'private' : 'public');
    durationMs[which] = m.durationMs;
  }
}, 180_000);

afterAll(async () => {
  s3.destroy();
  await dispose();
});

const rec = (which: 'pub' | 'priv') => `${api}/v1/rooms/${rooms[which]}/recordings/${ids[which]}`;
const get = (url: string, token?: string, init: RequestInit = {}) =>
  fetch(url, { ...init, headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string>) } });

test('listing: newest first, paginated, private recordings only with credentials; all as documented', async () => {
  const all = await get(`${api}/v1/recordings?limit=50`);
  const body = (await all.json()) as any;
  checkAgainstSpec('get', '/v1/recordings', 200, body);
  const mine = body.recordings.filter((x: any) => [rooms.pub, rooms.priv].includes(x.room));
  expect(mine.map((x: any) => x.room)).toEqual([rooms.pub]); // the private one is not listed publicly
  const starts = body.recordings.map((x: any) => Date.parse(x.startedAt));
  expect(starts).toEqual([...starts].sort((a, b) => b - a));

  // Page by page, one at a time: the same recordings in the same order, no repeats.
  const paged: string[] = [];
  let cursor: string | null = null;
  do {
    const r = (await (await get(`${api}/v1/recordings?limit=1${cursor ? `&cursor=${cursor}` : ''}`)).json()) as any;
    checkAgainstSpec('get', '/v1/recordings', 200, r);
    expect(r.recordings.length).toBeLessThanOrEqual(1);
    paged.push(...r.recordings.map((x: any) => x.recordingId));
    cursor = r.nextCursor;
  } while (cursor && paged.length < 60);
  expect(paged).toEqual(body.recordings.map((x: any) => x.recordingId));

  const privAnon = (await (await get(`${api}/v1/rooms/${rooms.priv}/recordings`)).json()) as any;
  expect(privAnon.recordings).toHaveLength(0);
  const listener = await livekitToken(env, rooms.priv, { roomJoin: true }, { recording: ids.priv });
  const privListener = (await (await get(`${api}/v1/rooms/${rooms.priv}/recordings`, listener)).json()) as any;
  checkAgainstSpec('get', '/v1/rooms/{room}/recordings', 200, privListener);
  expect(privListener.recordings.map((x: any) => x.recordingId)).toEqual([ids.priv]);

  for (const bad of ['limit=0', 'limit=1000', 'cursor=%2E%2E%2F', `cursor=${'a'.repeat(700)}`]) {
    const r = await get(`${api}/v1/recordings?${bad}`);
    expect(r.status).toBe(400);
    checkAgainstSpec('get', '/v1/recordings', 400, await r.json());
  }
  const live = await get(`${api}/v1/rooms`);
  checkAgainstSpec('get', '/v1/rooms', 200, await live.json());
});

test('the recording view gives URLs for everything the caller may have; raw speaker files only to hosts', async () => {
  const anon = (await (await get(rec('pub'))).json()) as any;
  checkAgainstSpec('get', '/v1/rooms/{room}/recordings/{recordingId}', 200, anon);
  expect(Object.keys(anon.urls.mix).sort()).toEqual(['m4a', 'mp3', 'opus']);
  expect(Object.keys(anon.urls.transcript).sort()).toEqual(['json', 'srt', 'txt', 'vtt']);
  expect(anon.urls.speakers).toBeNull();
  expect(anon.urls.zip).toBeNull();
  const host = await livekitToken(env, rooms.pub, { roomAdmin: true }, { recording: ids.pub });
  const asHost = (await (await get(rec('pub'), host)).json()) as any;
  checkAgainstSpec('get', '/v1/rooms/{room}/recordings/{recordingId}', 200, asHost);
  expect(Object.keys(asHost.urls.speakers).sort()).toEqual(['ann', 'ben']);
  expect(asHost.urls.zip).toMatch(/download\/all\.zip$/);
});

test('downloads answer with the right type and length, and decode to the recording', async () => {
  const host = await livekitToken(env, rooms.pub, { roomAdmin: true }, { recording: ids.pub });
  const want: Record<string, string> = { 'mix.opus': 'audio/ogg', 'mix.m4a': 'audio/mp4', 'mix.mp3': 'audio/mpeg', 'speakers/ann.opus': 'audio/ogg', 'speakers/ben.opus': 'audio/ogg' };
  for (const [file, type] of Object.entries(want)) {
    const r = await get(`${rec('pub')}/download/${file}`, host);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe(type);
    expect(r.headers.get('content-disposition')).toMatch(/^attachment; filename=/);
    const bytes = Buffer.from(await r.arrayBuffer());
    expect(bytes.length).toBe(Number(r.headers.get('content-length')));
    const f = path.join(workdir, file.replace('/', '-'));
    writeFileSync(f, bytes);
    const pcm = decode(f);
    const seconds = pcm.length / 48_000;
    expect(Math.abs(seconds * 1000 - durationMs.pub)).toBeLessThanOrEqual(100);
    // Each file holds sound (the bursts), not silence.
    expect(pcm.reduce((a, x) => Math.max(a, Math.abs(x)), 0)).toBeGreaterThan(0.05);
  }
  for (const [ext, type] of Object.entries({ json: 'application/json', vtt: 'text/vtt', srt: 'application/x-subrip', txt: 'text/plain' })) {
    const r = await get(`${rec('pub')}/download/transcript.${ext}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain(type);
    expect((await r.arrayBuffer()).byteLength).toBe(Number(r.headers.get('content-length')));
  }
  // A byte range, as players ask for when seeking.
  const part = await get(`${rec('pub')}/download/mix.mp3`, undefined, { headers: { Range: 'bytes=100-199' } });
  expect(part.status).toBe(206);
  expect((await part.arrayBuffer()).byteLength).toBe(100);
  expect(part.headers.get('content-range')).toMatch(/^bytes 100-199\/\d+$/);
});

test('the zip holds every speaker file and transcript, streamed', async () => {
  const host = await livekitToken(env, rooms.pub, { roomRecord: true }, { recording: ids.pub });
  const r = await get(`${rec('pub')}/download/all.zip`, host);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toBe('application/zip');
  expect(r.headers.get('content-length')).toBeNull(); // chunked: made while sent
  const zip = path.join(workdir, 'all.zip');
  writeFileSync(zip, Buffer.from(await r.arrayBuffer()));
  const listing = execFileSync('python3', ['-c', 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print("\\n".join(f"{i.filename} {i.file_size}" for i in z.infolist()))', zip], { encoding: 'utf8' });
  const entries = Object.fromEntries(listing.trim().split('\n').map((l) => l.split(' ')).map(([n, s]) => [n, Number(s)]));
  expect(Object.keys(entries).sort()).toEqual(['speakers/ann.opus', 'speakers/ben.opus', 'transcript.json', 'transcript.srt', 'transcript.txt', 'transcript.vtt']);
  const annSize = Number((await get(`${rec('pub')}/download/speakers/ann.opus`, host)).headers.get('content-length'));
  expect(entries['speakers/ann.opus']).toBe(annSize);
});

test('presigned download links work, then expire', async () => {
  const r = await get(`${rec('pub')}/download/mix.opus?via=presigned`, undefined, { redirect: 'manual' });
  expect(r.status).toBe(302);
  const url = r.headers.get('location')!;
  expect(url).toContain('X-Amz-Expires=3');
  const ok = await fetch(url);
  expect(ok.status).toBe(200);
  expect((await ok.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  await sleep(4_500);
  const late = await fetch(url);
  console.log(`presigned link after its 3 s: HTTP ${late.status}`);
  expect(late.status).toBe(403);
});

test('HLS: content types, caching a CDN can honour, CORS', async () => {
  const pl = await get(`${rec('pub')}/hls/index.m3u8`);
  expect(pl.status).toBe(200);
  expect(pl.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
  expect(pl.headers.get('cache-control')).toBe('public, max-age=300');
  expect(pl.headers.get('access-control-allow-origin')).toBe('*');
  const text = await pl.text();
  expect(text).toContain('#EXT-X-ENDLIST');
  const seg = text.split('\n').find((l) => l.endsWith('.m4s'))!;
  const s = await get(`${rec('pub')}/hls/${seg}`);
  expect(s.status).toBe(200);
  expect(s.headers.get('content-type')).toBe('audio/mp4');
  expect(s.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  const pre = await fetch(`${rec('pub')}/hls/index.m3u8`, { method: 'OPTIONS', headers: { Origin: 'https://elsewhere.example', 'Access-Control-Request-Method': 'GET' } });
  expect(pre.status).toBe(204);
  expect(pre.headers.get('access-control-allow-origin')).toBe('*');
});

// The full access table (every credential × every route, public and private) is test/integration/access.test.ts.

test('a private playlist carries the credentials on to its segments', async () => {
  const listener = await livekitToken(env, rooms.priv, { roomJoin: true }, { recording: ids.priv });
  const text = await (await get(`${rec('priv')}/hls/index.m3u8?token=${listener}`)).text();
  const seg = text.split('\n').find((l) => l.includes('.m4s') && !l.startsWith('#'))!;
  // The init segment (EXT-X-MAP) carries them too.
  expect(text).toMatch(new RegExp(`#EXT-X-MAP:URI="init\\.mp4\\?token=${listener}"`));
  expect(seg).toContain(`token=${listener}`);
  const r = await get(`${rec('priv')}/hls/${seg}`);
  expect(r.status).toBe(200);
  expect(r.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
  expect((await get(`${rec('priv')}/hls/${seg.split('?')[0]}`)).status).toBe(401);
});

test('bad input gets a documented 4xx', async () => {
  const host = await livekitToken(env, rooms.pub, { roomAdmin: true }, { recording: ids.pub });
  const cases: Array<[string, RequestInit | undefined, number]> = [
    [`${api}/v1/rooms/a%2Fb/recordings/${ids.pub}`, undefined, 400],
    [`${api}/v1/rooms/${'r'.repeat(300)}/recordings/${ids.pub}`, undefined, 400],
    [`${api}/v1/rooms/${rooms.pub}/recordings/..%2F..%2Fmanifest`, undefined, 400],
    [`${api}/v1/rooms/${rooms.pub}/recordings/20200101T000000Z-RM_none`, undefined, 404],
    [`${rec('pub')}/download/..%2F..%2Fsecrets`, undefined, 400],
    [`${rec('pub')}/download/mix.wav`, undefined, 400],
    [`${rec('pub')}/download/mix.opus?via=ftp`, undefined, 400],
    [`${rec('pub')}/links`, { method: 'POST', headers: { Authorization: `Bearer ${host}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(10_000) }) }, 413],
    [`${rec('pub')}/links`, { method: 'POST', headers: { Authorization: `Bearer ${host}`, 'Content-Type': 'application/json' }, body: '{"ttlSeconds":"forever"}' }, 400],
    [`${api}/v1/rooms/${rooms.pub}/live/status?token=garbage`, undefined, 401],
  ];
  for (const [url, init, status] of cases) {
    const r = await fetch(url, init);
    const body = (await r.json()) as any;
    expect({ url, status: r.status }).toEqual({ url, status });
    expect(typeof body.error.code).toBe('string');
    expect(typeof body.error.message).toBe('string');
  }
});

test('a host deletes a recording: every object of it is gone, and it is no longer listed', async () => {
  const prefix = recordingPrefix(rooms.pub, ids.pub);
  const listener = await livekitToken(env, rooms.pub, { roomJoin: true }, { recording: ids.pub });
  expect((await get(rec('pub'), listener, { method: 'DELETE' })).status).toBe(403);
  const host = await livekitToken(env, rooms.pub, { roomAdmin: true }, { recording: ids.pub });
  const r = await get(rec('pub'), host, { method: 'DELETE' });
  expect(r.status).toBe(204);
  const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
  const left = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  expect(left.Contents ?? []).toEqual([]);
  expect((await get(rec('pub'))).status).toBe(404);
  const listed = (await (await get(`${api}/v1/rooms/${rooms.pub}/recordings`)).json()) as any;
  expect(listed.recordings).toEqual([]);
});
