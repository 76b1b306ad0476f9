import http from 'node:http';
import { AccessToken } from 'livekit-server-sdk';
import { Parser } from 'm3u8-parser';
import { makeRecordingId, recordingPrefix, rel } from '../../src/contracts/layout';
import { Manifest } from '../../src/contracts/manifest';
import { roomService } from '../../src/shared/livekit';
import { testAppEnv } from '../support/env';
import { waitForManifest } from '../support/manifest';
import { getText, testS3 } from '../support/s3';
import { sleep } from '../support/scenario';

/** Opting out, starting and stopping by hand, and a room where nobody speaks. */
const env = testAppEnv();
const api = env.PUBLIC_BASE_URL;
const rooms = roomService(env as never);
const { s3, bucket } = testS3(env);
afterAll(() => s3.destroy());

async function token(room: string, grants: Record<string, unknown>, secret = env.LIVEKIT_API_SECRET, ttl: string | number = '10m') {
  const at = new AccessToken(env.LIVEKIT_API_KEY, secret, { identity: 'host-1', ttl });
  at.addGrant({ room, ...grants });
  return at.toJwt();
}

async function call(method: string, room: string, auth?: string) {
  const res = await fetch(`${api}/v1/rooms/${room}/recording`, {
    method,
    headers: auth ? { Authorization: `Bearer ${auth}` } : {},
  });
  return { status: res.status, json: (await res.json()) as any };
}

function rawPost(pathname: string, auth: string): Promise<{ status: number; json: any }> {
  const u = new URL(api);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: pathname, headers: { Authorization: `Bearer ${auth}` } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(body) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const waitForManifestOf = (prefix: string, until: (m: Manifest) => boolean, timeoutMs?: number) => waitForManifest(s3, bucket, prefix, until, timeoutMs);

test('a room that opts out is not recorded until a host starts it; the host can stop it', async () => {
  const name = `optout-${Date.now()}`;
  await rooms.createRoom({ name, emptyTimeout: 60, metadata: JSON.stringify({ roomcast: { record: false } }) });
  await sleep(1500);
  const host = await token(name, { roomRecord: true });
  // Nothing was recording: stopping is a 404.
  expect((await call('DELETE', name, host)).status).toBe(404);

  const started = await call('POST', name, host);
  expect(started.status).toBe(202);
  const prefix = recordingPrefix(name, started.json.recordingId);
  await waitForManifestOf(prefix, (m) => m.status === 'recording' && m.hls.segments >= 2);
  expect((await call('POST', name, host)).status).toBe(409);

  // Listeners get the live stream through the api: right types, CDN-friendly caching, CORS.
  const base = `${api}/v1/rooms/${name}/recordings/${started.json.recordingId}`;
  const live = await fetch(`${base}/hls/live.m3u8`);
  expect(live.status).toBe(200);
  expect(live.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
  expect(live.headers.get('cache-control')).toBe('public, max-age=1');
  expect(live.headers.get('access-control-allow-origin')).toBe('*');
  const firstSeg = (await live.text()).split('\n').find((l) => l.endsWith('.m4s'))!;
  const seg = await fetch(`${base}/hls/${firstSeg}`);
  expect(seg.status).toBe(200);
  expect(seg.headers.get('content-type')).toBe('audio/mp4');
  expect(seg.headers.get('cache-control')).toContain('immutable');
  expect(Number(seg.headers.get('content-length'))).toBe((await seg.arrayBuffer()).byteLength);
  expect((await fetch(`${base}/hls/seg_999999.m4s`)).status).toBe(404);
  expect((await fetch(`${base}/hls/seg_999999.ts`)).status).toBe(400);
  expect((await fetch(`${base}/hls/..%2Fmanifest.json`)).status).toBe(400);
  expect((await fetch(`${api}/v1/rooms/${name}/recordings/not-an-id/hls/live.m3u8`)).status).toBe(400);
  const man = await fetch(`${base}/manifest.json`);
  expect(man.status).toBe(200);
  expect(Manifest.parse(await man.json()).status).toBe('recording');

  expect((await call('DELETE', name, host)).status).toBe(202);
  const m = await waitForManifestOf(prefix, (x) => x.status !== 'recording');
  expect(m.hls.ended).toBe(true);
  await rooms.deleteRoom(name);
});

test('starting and stopping needs a host token for that very room', async () => {
  const name = `auth-${Date.now()}`;
  await rooms.createRoom({ name, emptyTimeout: 30, metadata: JSON.stringify({ roomcast: { record: false } }) });
  const cases: Array<[string, string | undefined, number]> = [
    ['no token', undefined, 401],
    ['listener token', await token(name, { roomJoin: true }), 403],
    ['host of another room', await token('elsewhere', { roomAdmin: true }), 403],
    ['signed with another secret', await token(name, { roomAdmin: true }, 'y'.repeat(40)), 401],
    ['expired', await token(name, { roomAdmin: true }, env.LIVEKIT_API_SECRET, -60), 401],
  ];
  for (const [label, auth, status] of cases) {
    const r = await call('POST', name, auth);
    expect({ label, status: r.status }).toEqual({ label, status });
    expect(typeof r.json.error.message).toBe('string');
  }
  await rooms.deleteRoom(name);
});

test('unknown rooms are 404 and hostile names 400', async () => {
  const ghost = `ghost-${Date.now()}`;
  expect((await call('POST', ghost, await token(ghost, { roomAdmin: true }))).status).toBe(404);
  // Sent byte for byte (fetch would normalise dot segments away before they reach the server).
  for (const bad of ['..', '%2E%2E', 'a%2Fb', 'x'.repeat(300), '%00evil', '..%5C..%5Cetc']) {
    const r = await rawPost(`/v1/rooms/${bad}/recording`, await token(decodeURIComponent(bad), { roomAdmin: true }));
    expect({ bad, status: r.status }).toEqual({ bad, status: 400 });
    expect(r.json.error.code).toBe('invalid_parameter');
  }
});

test('a room where nobody speaks ends by itself and is closed cleanly', async () => {
  const name = `quiet-${Date.now()}`;
  const created = Date.now();
  // Nobody joins: livekit-server closes the room after its empty timeout and sends room_finished.
  await rooms.createRoom({ name, emptyTimeout: 4, departureTimeout: 1 });
  // The recording id follows from the room session (see makeRecordingId), so the test knows where to look.
  const [info] = await rooms.listRooms([name]);
  const prefix = recordingPrefix(name, makeRecordingId(new Date(Number(info.creationTime) * 1000), info.sid));
  const m = await waitForManifestOf(prefix, (x) => x.status !== 'recording', 60_000);
  console.log(`empty room recorded ${m.durationMs} ms, closed ${Date.now() - created} ms after creation`);
  expect(m.speakers).toEqual([]);
  expect(m.hls.ended).toBe(true);
  const p = new Parser();
  p.push((await getText(s3, bucket, prefix + rel.eventPlaylist))!);
  p.end();
  expect(p.manifest.endList).toBe(true);
  const total = p.manifest.segments.reduce((s: number, x: { duration: number }) => s + x.duration, 0);
  expect(Math.abs(total * 1000 - m.durationMs)).toBeLessThan(150);
});

test('bad bodies and unknown recordings get clear 4xx errors and leave a live recording alone', async () => {
  const name = `badinput-${Date.now()}`;
  await rooms.createRoom({ name, emptyTimeout: 60 });
  const [info] = await rooms.listRooms([name]);
  const prefix = recordingPrefix(name, makeRecordingId(new Date(Number(info.creationTime) * 1000), info.sid));
  await waitForManifestOf(prefix, (m) => m.status === 'recording');
  const host = await token(name, { roomAdmin: true });
  const post = (body: string) =>
    fetch(`${api}/v1/rooms/${name}/recording`, { method: 'POST', headers: { Authorization: `Bearer ${host}`, 'Content-Type': 'application/json' }, body });
  const malformed = await post('{"not json');
  expect(malformed.status).toBe(400);
  expect(((await malformed.json()) as any).error.code).toBe('bad_request');
  const huge = await post(JSON.stringify({ pad: 'x'.repeat(64 * 1024) }));
  expect(huge.status).toBe(413);
  expect(((await huge.json()) as any).error.code).toBe('payload_too_large');
  // A well-formed id of a recording that does not exist, and a file kind that is not served.
  const ghost = await fetch(`${api}/v1/rooms/${name}/recordings/20200101T000000Z-RM_nothing/manifest.json`);
  expect(ghost.status).toBe(404);
  expect(((await ghost.json()) as any).error.code).toBe('recording_not_found');
  const secret = await fetch(`${api}/v1/rooms/${name}/recordings/20200101T000000Z-RM_nothing/speakers/a/chunk_000000.flac`);
  expect(secret.status).toBe(400);
  expect((await fetch(`${api}/v1/no/such/endpoint`)).status).toBe(404);
  // The recording went on through all of it.
  const before = (await waitForManifestOf(prefix, () => true)).hls.segments;
  const after = await waitForManifestOf(prefix, (m) => m.hls.segments > before + 1, 15_000);
  expect(after.status).toBe('recording');
  await rooms.deleteRoom(name);
});
