import { HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { dispose } from '@livekit/rtc-node';
import { chromium } from 'playwright-core';
import { recordingPrefix, safeKey } from '../../src/contracts/layout';
import { TOKEN_CLOCK_SKEW_MS } from '../../src/api/access';
import { indexKeys } from '../../src/storage/recording-index';
import { testAppEnv } from '../support/env';
import { waitForManifest } from '../support/manifest';
import { testS3 } from '../support/s3';
import { runScenario, sleep } from '../support/scenario';
import { livekitToken, signedQuery } from '../support/tokens';

/**
 * Who gets what: every credential (none, listener, host, another room's host, a host of a later
 * session of the same room name, expired, forged, junk; in the header and in the query; signed
 * links of each scope) against every route, for a public and a private recording. Each cell checks
 * the status and that a response to a request carrying a credential cannot be kept by a shared
 * cache (a CDN keying on the path would hand it to the next listener).
 */
const env = testAppEnv();
const api = env.PUBLIC_BASE_URL;
const { s3, bucket } = testS3(env);
const stamp = Date.now();
const rooms = { pub: `acl-pub-${stamp}`, priv: `acl-priv-${stamp}` } as const;
type Which = keyof typeof rooms;
const ids: Record<Which, string> = { pub: '', priv: '' };
const sids: Record<Which, string> = { pub: '', priv: '' };
/** Credentials minted before the sessions ran (as the app hands them to people in the room). */
const early: Record<Which, { listener: string; host: string; recorder: string; link: string }> = {} as never;

beforeAll(async () => {
  const now = Math.floor(Date.now() / 1000);
  for (const which of ['pub', 'priv'] as const) {
    early[which] = {
      listener: await livekitToken(env, rooms[which], { roomJoin: true }, { ttl: '30m' }),
      host: await livekitToken(env, rooms[which], { roomAdmin: true }, { ttl: '30m', identity: `host-${which}` }),
      recorder: await livekitToken(env, rooms[which], { roomRecord: true }, { ttl: '30m' }),
      link: signedQuery(env.LINK_SIGNING_SECRET, rooms[which], '*', now + 1800, now - 5),
    };
  }
  const speakers = [{ identity: 'ann', freq: 440, presence: [[0, 3_500]] as Array<[number, number]> }];
  const bursts = [{ speaker: 'ann', freq: 440, atMs: 500, durMs: 1_500, dbfs: -12 }];
  await Promise.all(
    (['pub', 'priv'] as const).map(async (which) => {
      const r = await runScenario({ env, room: rooms[which], speakers, bursts, events: [], endMs: 3_800, metadata: which === 'priv' ? JSON.stringify({ roomcast: { visibility: 'private' } }) : undefined });
      ids[which] = r.active.recordingId;
      sids[which] = r.active.roomSid;
    }),
  );
  for (const which of ['pub', 'priv'] as const) {
    await waitForManifest(s3, bucket, recordingPrefix(rooms[which], ids[which]), (x) => x.status === 'complete' && !!x.files.replay && !!x.files['speaker.ann'], 120_000);
  }
  // The recordings have ended: credentials minted from now on (past the clock-skew allowance) are a later session's.
  for (const which of ['pub', 'priv'] as const) {
    const m = await waitForManifest(s3, bucket, recordingPrefix(rooms[which], ids[which]), () => true);
    await sleep(Math.max(0, Date.parse(m.endedAt!) + TOKEN_CLOCK_SKEW_MS + 1_000 - Date.now()));
  }
}, 240_000);

afterAll(async () => {
  s3.destroy();
  await dispose();
});

type Kind = 'none' | 'invalid' | 'listen' | 'host' | 'foreign';
interface Cred {
  name: string;
  header?: string;
  query?: string;
  /** What it is for this recording. */
  kind: Kind;
  /** Holds a host grant for the room itself (room-wide host actions: start/stop, room links). */
  roomHost?: boolean;
}

async function credentials(which: Which): Promise<Cred[]> {
  const room = rooms[which];
  const id = ids[which];
  const now = Math.floor(Date.now() / 1000);
  const secret = env.LINK_SIGNING_SECRET;
  const bearer = (t: string) => `Bearer ${t}`;
  const tok = (grants: Record<string, unknown>, o: Parameters<typeof livekitToken>[3] = {}) => livekitToken(env, room, grants, o);
  const e = early[which];
  return [
    { name: 'anonymous', kind: 'none' },
    { name: 'listener (header)', header: bearer(e.listener), kind: 'listen' },
    { name: 'listener (query)', query: `token=${e.listener}`, kind: 'listen' },
    { name: 'host (header)', header: bearer(e.host), kind: 'host', roomHost: true },
    { name: 'host (query)', query: `token=${e.host}`, kind: 'host', roomHost: true },
    { name: 'recorder (header)', header: bearer(e.recorder), kind: 'host', roomHost: true },
    { name: 'host naming this recording', header: bearer(await tok({ roomAdmin: true }, { recording: id })), kind: 'host', roomHost: true },
    { name: 'host naming this session', query: `token=${await tok({ roomAdmin: true }, { session: sids[which] })}`, kind: 'host', roomHost: true },
    { name: 'listener naming this recording (query)', query: `token=${await tok({ roomJoin: true }, { recording: id })}`, kind: 'listen' },
    // The same room name, a later session: today's "standup" host is not yesterday's.
    { name: 'host of a later session', header: bearer(await tok({ roomAdmin: true })), kind: 'foreign', roomHost: true },
    { name: 'listener of a later session (query)', query: `token=${await tok({ roomJoin: true })}`, kind: 'foreign' },
    { name: 'host naming another recording', header: bearer(await tok({ roomAdmin: true }, { recording: '20200101T000000Z-RM_other' })), kind: 'foreign', roomHost: true },
    { name: 'host, other room', header: bearer(await livekitToken(env, `${room}-other`, { roomAdmin: true })), kind: 'foreign' },
    { name: 'listener, other room (query)', query: `token=${await livekitToken(env, `${room}-other`, { roomJoin: true })}`, kind: 'foreign' },
    { name: 'host, expired', header: bearer(await tok({ roomAdmin: true }, { ttl: -60 })), kind: 'invalid' },
    { name: 'host, expired (query)', query: `token=${await tok({ roomAdmin: true }, { ttl: -60 })}`, kind: 'invalid' },
    { name: 'host, forged (other secret)', header: bearer(await tok({ roomAdmin: true }, { secret: 'x'.repeat(40) })), kind: 'invalid' },
    { name: 'Basic', header: 'Basic eDp4', kind: 'invalid' },
    { name: 'Bearer junk', header: 'Bearer junk', kind: 'invalid' },
    { name: 'empty ?token=', query: 'token=', kind: 'invalid' },
    { name: '?token=junk', query: 'token=junk', kind: 'invalid' },
    { name: 'link, this recording', query: signedQuery(secret, room, id, now + 600, now - 5), kind: 'listen' },
    { name: 'link, room-wide (made before the session)', query: e.link, kind: 'listen' },
    { name: 'link, room-wide (made after the session)', query: signedQuery(secret, room, '*', now + 600, now), kind: 'foreign' },
    { name: 'link, other recording', query: signedQuery(secret, room, '20200101T000000Z-RM_other', now + 600, now - 5), kind: 'foreign' },
    { name: 'link, expired', query: signedQuery(secret, room, id, now - 5, now - 600), kind: 'invalid' },
    { name: 'link, forged', query: signedQuery('y'.repeat(40), room, id, now + 600, now - 5), kind: 'invalid' },
    { name: 'link, tampered scope', query: signedQuery(secret, room, id, now + 600, now - 5).replace(/scope=[^&]+/, 'scope=*'), kind: 'invalid' },
  ];
}

interface Route {
  name: string;
  method?: 'GET' | 'POST' | 'DELETE';
  path: (which: Which) => string;
  /** Who may: a recording's audience, or a room-level rule. */
  rule: 'anyone' | 'listener' | 'host' | 'room-host' | 'room-listing' | 'room-status' | 'open';
  ok?: number;
  body?: string;
}

const rec = (which: Which) => `/v1/rooms/${rooms[which]}/recordings/${ids[which]}`;
const ROUTES: Route[] = [
  { name: 'view', path: (w) => rec(w), rule: 'listener' },
  { name: 'manifest', path: (w) => `${rec(w)}/manifest.json`, rule: 'listener' },
  { name: 'replay page', path: (w) => `${rec(w)}/replay/index.html`, rule: 'listener' },
  { name: 'replay data', path: (w) => `${rec(w)}/replay/data.json`, rule: 'listener' },
  { name: 'replay code', path: (w) => `${rec(w)}/replay/replay.js`, rule: 'anyone' },
  { name: 'VOD playlist', path: (w) => `${rec(w)}/hls/index.m3u8`, rule: 'listener' },
  { name: 'live playlist', path: (w) => `${rec(w)}/hls/live.m3u8`, rule: 'listener' },
  { name: 'segment', path: (w) => `${rec(w)}/hls/seg_000000.m4s`, rule: 'listener' },
  { name: 'waveform', path: (w) => `${rec(w)}/final/waveform.json`, rule: 'listener' },
  { name: 'mix (player path)', path: (w) => `${rec(w)}/final/mix.opus`, rule: 'listener' },
  { name: 'mix download', path: (w) => `${rec(w)}/download/mix.m4a`, rule: 'listener' },
  { name: 'mix presigned', path: (w) => `${rec(w)}/download/mix.mp3?via=presigned`, rule: 'listener', ok: 302 },
  { name: 'transcript', path: (w) => `${rec(w)}/download/transcript.srt`, rule: 'listener' },
  { name: 'speaker file', path: (w) => `${rec(w)}/download/speakers/ann.opus`, rule: 'host' },
  { name: 'speaker presigned', path: (w) => `${rec(w)}/download/speakers/ann.opus?via=presigned`, rule: 'host', ok: 302 },
  { name: 'speaker (player path)', path: (w) => `${rec(w)}/final/speakers/ann.opus`, rule: 'host' },
  { name: 'zip', path: (w) => `${rec(w)}/download/all.zip`, rule: 'host' },
  { name: 'recording link', method: 'POST', path: (w) => `${rec(w)}/links`, rule: 'host', ok: 201, body: '{"ttlSeconds":600}' },
  // Delete by a host is the last test (it would end this table); everyone else is refused here.
  { name: 'delete', method: 'DELETE', path: (w) => rec(w), rule: 'host', ok: 0 },
  { name: 'room listing', path: (w) => `/v1/rooms/${rooms[w]}/recordings`, rule: 'room-listing' },
  { name: 'live status', path: (w) => `/v1/rooms/${rooms[w]}/live/status`, rule: 'room-status' },
  { name: 'live page', path: (w) => `/v1/rooms/${rooms[w]}/live`, rule: 'open' },
  { name: 'room link', method: 'POST', path: (w) => `/v1/rooms/${rooms[w]}/links`, rule: 'room-host', ok: 201, body: '{"ttlSeconds":600}' },
  // The room has ended: a host may ask, and learns there is nothing to start or stop.
  { name: 'start', method: 'POST', path: (w) => `/v1/rooms/${rooms[w]}/recording`, rule: 'room-host', ok: 404 },
  { name: 'stop', method: 'DELETE', path: (w) => `/v1/rooms/${rooms[w]}/recording`, rule: 'room-host', ok: 404 },
  { name: 'all recordings', path: () => '/v1/recordings?limit=100', rule: 'open' },
  { name: 'live rooms', path: () => '/v1/rooms', rule: 'open' },
];

function expected(route: Route, cred: Cred, which: Which): number {
  const ok = route.ok ?? 200;
  if (cred.kind === 'invalid') return 401;
  // A signed link is signed for one room: on a route without one it cannot verify.
  if (!route.path(which).startsWith('/v1/rooms/') && cred.query?.startsWith('exp=')) return 401;
  const priv = which === 'priv';
  switch (route.rule) {
    case 'open':
    case 'anyone':
    case 'room-listing':
      return ok;
    case 'listener':
      if (!priv || cred.kind === 'listen' || cred.kind === 'host') return ok;
      return cred.kind === 'none' ? 401 : 403;
    case 'host':
      if (cred.kind === 'host') return ok;
      return cred.kind === 'none' ? 401 : 403;
    case 'room-host':
      if (cred.roomHost) return ok;
      return cred.kind === 'none' ? 401 : 403;
    case 'room-status':
      // A private room's latest recording is not revealed to whom it is not for.
      if (!priv || cred.kind === 'listen' || cred.kind === 'host') return ok;
      return 404;
  }
}

/** A response a shared cache may keep: no `private`/`no-store`, or an explicit `public`/`s-maxage`. */
const sharedCacheable = (cc: string | null) => !cc || /\bpublic\b|\bs-maxage\b/.test(cc) || !/\bprivate\b|\bno-store\b/.test(cc);

test.each(['pub', 'priv'] as const)('access table, %s recording: every route × every credential; nothing credentialed is shared-cacheable', async (which) => {
  const creds = await credentials(which);
  const wrong: string[] = [];
  const rows: string[] = [];
  for (const cred of creds) {
    const cells: string[] = [];
    for (const route of ROUTES) {
      const want = expected(route, cred, which);
      const method = route.method ?? 'GET';
      if (want === 0) {
        cells.push('(last test)');
        continue;
      }
      const url = `${api}${route.path(which)}${cred.query ? `${route.path(which).includes('?') ? '&' : '?'}${cred.query}` : ''}`;
      const r = await fetch(url, {
        method,
        redirect: 'manual',
        headers: { ...(cred.header ? { Authorization: cred.header } : {}), ...(route.body ? { 'Content-Type': 'application/json' } : {}) },
        body: route.body,
      });
      const body = Buffer.from(await r.arrayBuffer()).toString('latin1');
      const cc = r.headers.get('cache-control');
      cells.push(String(r.status));
      if (r.status !== want) wrong.push(`${cred.name} → ${method} ${route.name}: ${r.status}, expected ${want}`);
      if (route.rule === 'room-listing' && r.status === 200) {
        // A private recording is listed only to credentials that cover it.
        const listed = (JSON.parse(body) as { recordings: Array<{ recordingId: string }> }).recordings.some((x) => x.recordingId === ids[which]);
        if (listed !== (which === 'pub' || cred.kind === 'listen' || cred.kind === 'host')) wrong.push(`${cred.name} → room listing ${listed ? 'lists' : 'does not list'} the recording`);
      }
      if (cred.kind !== 'none' && sharedCacheable(cc)) wrong.push(`${cred.name} → ${method} ${route.name}: Cache-Control "${cc}" lets a shared cache keep a credentialed response`);
      // A public room's answers never carry the caller's credentials on (a CDN could key on the path).
      const secret = cred.query?.split('=').slice(1).join('=') || cred.header?.replace(/^Bearer /, '');
      if (which === 'pub' && secret && secret.length > 20 && body.includes(secret.slice(0, 40))) wrong.push(`${cred.name} → ${method} ${route.name}: the credential is in the body of a public room's response`);
    }
    rows.push(`| ${cred.name} | ${cells.join(' | ')} |`);
  }
  console.log(`${which} recording\n| credential | ${ROUTES.map((r) => `${r.method ?? 'GET'} ${r.name}`).join(' | ')} |\n${rows.join('\n')}`);
  expect(wrong).toEqual([]);
});

test('anonymous answers for a public recording stay cacheable where a CDN should keep them', async () => {
  const seg = await fetch(`${api}${rec('pub')}/hls/seg_000000.m4s`);
  expect(seg.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  const vod = await fetch(`${api}${rec('pub')}/hls/index.m3u8`);
  expect(vod.headers.get('cache-control')).toBe('public, max-age=300');
  // The probe: a host opening the replay of a public room with ?token= got a publicly cacheable
  // playlist whose every segment URI carried the host's token.
  const host = early.pub.host;
  const withToken = await fetch(`${api}${rec('pub')}/hls/index.m3u8?token=${host}`);
  expect(withToken.status).toBe(200);
  expect(withToken.headers.get('cache-control')).toMatch(/^private/);
  expect(await withToken.text()).not.toContain(host);
  // A private room's playlist carries a listener's credentials on, and is that listener's alone.
  const priv = await fetch(`${api}${rec('priv')}/hls/index.m3u8?token=${early.priv.listener}`);
  expect(priv.headers.get('cache-control')).toBe('private, no-store');
  expect(await priv.text()).toContain(`token=${early.priv.listener}`);
  // Presigned S3 URLs are answered private by S3 itself.
  const redirect = await fetch(`${api}${rec('pub')}/download/mix.opus?via=presigned`, { redirect: 'manual' });
  const fromS3 = await fetch(redirect.headers.get('location')!);
  expect(fromS3.status).toBe(200);
  expect(fromS3.headers.get('cache-control')).toBe('private, no-store');
});

test('a listing never trusts the index alone: a manifest of another room under the same key is not listed or served', async () => {
  // Two room names share a storage key only through a 48-bit hash collision; stand one in by hand.
  const victim = rooms.priv;
  const forgedId = `20200101T000000Z-RM_forged${stamp % 100000}`;
  const prefix = recordingPrefix(victim, forgedId);
  const now = new Date().toISOString();
  const manifest = {
    version: 1, room: 'someone-else', roomSid: 'RM_forged', recordingId: forgedId, status: 'complete', visibility: 'public', startedAt: now, endedAt: now, updatedAt: now,
    durationMs: 1000, sampleRate: 48000, hls: { eventPlaylist: 'hls/index.m3u8', livePlaylist: 'hls/live.m3u8', segmentSeconds: 2, codec: 'mp4a.40.2', bitrateKbps: 64, segments: 0, bytes: 0, ended: true },
    speakerFormat: { codec: 'flac', chunkSeconds: 10 }, mix: { chunks: [] }, speakers: [], gaps: [], files: {}, processing: {}, error: null, stopReason: null,
  };
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}manifest.json`, Body: JSON.stringify(manifest) }));
  for (const Key of indexKeys(victim, forgedId, 'public', new Date())) await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: '' }));
  const roomList = (await (await fetch(`${api}/v1/rooms/${victim}/recordings`)).json()) as any;
  expect(roomList.recordings.map((r: any) => r.recordingId)).not.toContain(forgedId);
  const all = (await (await fetch(`${api}/v1/recordings?limit=100`)).json()) as any;
  expect(all.recordings.map((r: any) => r.recordingId)).not.toContain(forgedId);
  expect((await fetch(`${api}/v1/rooms/${victim}/recordings/${forgedId}`)).status).toBe(404);
  expect((await fetch(`${api}/v1/rooms/someone-else/recordings/${forgedId}`)).status).toBe(404);
  expect(safeKey(victim)).toBe(victim);
  // A manifest cut short (or any object put there by hand) is skipped, not a 500 for the whole listing.
  const brokenId = `20200101T000000Z-RM_broken${stamp % 100000}`;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${recordingPrefix(victim, brokenId)}manifest.json`, Body: '{"room": "' }));
  for (const Key of indexKeys(victim, brokenId, 'public', new Date())) await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: '' }));
  for (const url of [`${api}/v1/recordings?limit=100`, `${api}/v1/rooms/${victim}/recordings`]) {
    const r = await fetch(url);
    expect(r.status).toBe(200);
    expect(((await r.json()) as any).recordings.map((x: any) => x.recordingId)).not.toContain(brokenId);
  }
});

test("a private recording's replay page, opened in Chromium through a host's signed link, loads and plays", async () => {
  const made = await fetch(`${api}${rec('priv')}/links`, { method: 'POST', headers: { Authorization: `Bearer ${early.priv.host}`, 'Content-Type': 'application/json' }, body: '{"ttlSeconds":600}' });
  const { replayUrl } = (await made.json()) as { replayUrl: string };
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
  });
  try {
    const page = await browser.newPage();
    const refused: string[] = [];
    page.on('response', (r) => r.status() >= 400 && refused.push(`${r.status()} ${r.url().split('?')[0]}`));
    await page.goto(replayUrl);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
    await page.waitForFunction(() => (document.getElementById('audio') as HTMLAudioElement).readyState >= 1, null, { timeout: 15_000 });
    await page.click('#play');
    await page.waitForFunction(() => (document.getElementById('audio') as HTMLAudioElement).currentTime > 0.5, null, { timeout: 15_000 });
    expect(refused).toEqual([]);
    // Without the link, the same page gets nothing of the recording.
    const bare = await browser.newPage();
    const status = (await bare.goto(replayUrl.split('?')[0]))!.status();
    expect(status).toBe(401);
  } finally {
    await browser.close();
  }
}, 60_000);

test('every object of a private recording is stored private (S3 and presigned URLs hand its Cache-Control on); raw audio always', async () => {
  const policies: Record<Which, Record<string, string>> = { pub: {}, priv: {} };
  for (const which of ['pub', 'priv'] as const) {
    const prefix = recordingPrefix(rooms[which], ids[which]);
    const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map((c) => c.Key!);
    expect(keys.length).toBeGreaterThan(15);
    for (const key of keys) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      policies[which][key.slice(prefix.length)] = head.CacheControl ?? '(none)';
    }
  }
  const notPrivate = (m: Record<string, string>, keep: (k: string) => boolean) => Object.entries(m).filter(([k, cc]) => keep(k) && !/^private\b/.test(cc));
  expect(notPrivate(policies.priv, () => true)).toEqual([]);
  // A public recording: raw per-speaker audio and the lossless chunks are still private; what listeners play is public.
  expect(notPrivate(policies.pub, (k) => k.startsWith('final/speakers/') || k.endsWith('.flac') || k.startsWith('transcript/live/') || k === 'final/live-archive.json')).toEqual([]);
  for (const k of ['final/mix.opus', 'transcript/transcript.vtt', 'hls/seg_000000.m4s', 'replay/replay.js']) expect(policies.pub[k]).toMatch(/^public\b/);
});

test('delete: hosts only, and a host of a later session of the same name cannot; then nothing is left', async () => {
  const later = await livekitToken(env, rooms.priv, { roomAdmin: true });
  expect((await fetch(`${api}${rec('priv')}`, { method: 'DELETE', headers: { Authorization: `Bearer ${later}` } })).status).toBe(403);
  const r = await fetch(`${api}${rec('priv')}`, { method: 'DELETE', headers: { Authorization: `Bearer ${early.priv.host}` } });
  expect(r.status).toBe(204);
  const left = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: recordingPrefix(rooms.priv, ids.priv) }));
  expect(left.Contents ?? []).toEqual([]);
  expect((await fetch(`${api}${rec('priv')}`, { headers: { Authorization: `Bearer ${early.priv.host}` } })).status).toBe(404);
});
