import net from 'node:net';
import { testAppEnv } from '../support/env';
import { checkAgainstSpec } from '../support/openapi';
import { RoomcastProcess } from '../support/roomcast-process';
import { livekitToken } from '../support/tokens';

/** Health, metrics, the OpenAPI document and the rate limits, on api processes of their own. */
const shift = Number(process.env.ROOMCAST_TEST_PORT_SHIFT ?? 0);
const env: Record<string, string> = { ...testAppEnv(), API_PORT: String(18093 + shift), RATE_LIMIT_PER_MINUTE: '5', HLS_RATE_LIMIT_PER_MINUTE: '8', RATE_LIMIT_PER_TOKEN_PER_MINUTE: '9' };
const api = `http://127.0.0.1:${env.API_PORT}`;
const proc = new RoomcastProcess('roomcast-api-ops', env, ['api']);

/** An "S3" that counts the connections made to it and answers none: what a flood of /healthz costs the backend. */
let s3Connections = 0;
const fakeS3 = net.createServer((sock) => {
  s3Connections++;
  sock.destroy();
});
const brokenEnv: Record<string, string> = { ...testAppEnv(), API_PORT: String(18094 + shift), METRICS_PORT: String(18095 + shift) };
const broken = `http://127.0.0.1:${brokenEnv.API_PORT}`;
let brokenProc: RoomcastProcess;

beforeAll(async () => {
  await new Promise<void>((r) => fakeS3.listen(0, '127.0.0.1', () => r()));
  brokenEnv.S3_ENDPOINT = `http://127.0.0.1:${(fakeS3.address() as net.AddressInfo).port}`;
  brokenProc = new RoomcastProcess('roomcast-api-ops-broken', brokenEnv, ['api']);
  await Promise.all([proc.start(), brokenProc.start()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([proc.stop(), brokenProc.stop()]);
  fakeS3.close();
});

test('/healthz checks Redis, S3 and LiveKit; /metrics needs the metrics token on the api port', async () => {
  const h = await fetch(`${api}/healthz`);
  const body = (await h.json()) as any;
  checkAgainstSpec('get', '/healthz', h.status, body);
  expect(h.status).toBe(200);
  expect(body.checks.map((c: any) => [c.name, c.ok])).toEqual([['redis', true], ['s3', true], ['livekit', true]]);
  expect(h.headers.get('cache-control')).toBe('no-store');

  expect((await fetch(`${api}/metrics`)).status).toBe(401);
  expect((await fetch(`${api}/metrics`, { headers: { Authorization: 'Bearer not-the-metrics-token-at-all' } })).status).toBe(401);
  const m = await fetch(`${api}/metrics`, { headers: { Authorization: `Bearer ${env.METRICS_TOKEN}` } });
  expect(m.status).toBe(200);
  const text = await m.text();
  for (const name of ['roomcast_recordings_active', 'roomcast_hls_segments_uploaded_total', 'roomcast_upload_retries_total', 'roomcast_spool_bytes', 'roomcast_spool_free_bytes', 'roomcast_recordings_resumed_total', 'roomcast_job_seconds', 'roomcast_transcription_rtf', 'roomcast_segment_upload_seconds']) {
    expect(text).toContain(`# TYPE ${name} `);
  }
});

test('a flood of /healthz costs the backends one check a second, and anonymous callers see no internal error text', async () => {
  const before = s3Connections;
  const t0 = Date.now();
  const answers = await Promise.all(Array.from({ length: 200 }, () => fetch(`${broken}/healthz`).then(async (r) => ({ status: r.status, body: (await r.json()) as any }))));
  const seconds = (Date.now() - t0) / 1000;
  for (const a of answers) {
    expect(a.status).toBe(503);
    checkAgainstSpec('get', '/healthz', 503, a.body);
    const s3 = a.body.checks.find((c: any) => c.name === 's3');
    expect(s3).toEqual({ name: 's3', ok: false, ms: expect.any(Number) });
    expect(JSON.stringify(a.body)).not.toMatch(/127\.0\.0\.1|ECONN|socket|Error/i);
  }
  // One check (≤ 2 attempts by the SDK) per second of the flood, however many callers.
  expect(s3Connections - before).toBeLessThanOrEqual(2 * (Math.ceil(seconds) + 1));
  // The operator (metrics token) sees what went wrong.
  const detailed = (await (await fetch(`${broken}/healthz`, { headers: { Authorization: `Bearer ${brokenEnv.METRICS_TOKEN}` } })).json()) as any;
  expect(detailed.checks.find((c: any) => c.name === 's3').error).toEqual(expect.any(String));
});

test('with METRICS_PORT, /metrics is on its own listener and not on the public api port', async () => {
  expect((await fetch(`${broken}/metrics`, { headers: { Authorization: `Bearer ${brokenEnv.METRICS_TOKEN}` } })).status).toBe(404);
  // The separate listener still asks for the token when one is set.
  expect((await fetch(`http://127.0.0.1:${brokenEnv.METRICS_PORT}/metrics`)).status).toBe(401);
  const r = await fetch(`http://127.0.0.1:${brokenEnv.METRICS_PORT}/metrics`, { headers: { Authorization: `Bearer ${brokenEnv.METRICS_TOKEN}` } });
  expect(r.status).toBe(200);
  expect(await r.text()).toContain('# TYPE roomcast_recordings_active ');
});

test('the OpenAPI document is served and describes every /v1 route', async () => {
  const doc = (await (await fetch(`${api}/v1/openapi.json`)).json()) as any;
  expect(doc.openapi).toBe('3.1.0');
  for (const p of ['/v1/recordings', '/v1/rooms', '/v1/rooms/{room}/recordings/{recordingId}', '/v1/rooms/{room}/recordings/{recordingId}/download/all.zip', '/v1/rooms/{room}/live/status']) {
    expect(Object.keys(doc.paths)).toContain(p);
  }
});

test('rate limits: credentials that do not verify count as anonymous; verified callers are limited per token subject', async () => {
  // Each kind of junk, from one address: together they share the anonymous budget of 5.
  const junk: Array<[string, RequestInit | undefined]> = [
    ['/v1/recordings?limit=1', { headers: { Authorization: 'Bearer junk' } }],
    ['/v1/recordings?limit=1', { headers: { Authorization: 'Basic eDp4' } }],
    ['/v1/recordings?limit=1&token=', undefined],
    ['/v1/recordings?limit=1&sig=x', undefined],
    ['/v1/rooms/any-room/recordings?token=junk', undefined],
    ['/v1/recordings?limit=1', undefined],
    ['/v1/recordings?limit=1', { headers: { Authorization: 'Bearer junk' } }],
  ];
  const statuses: number[] = [];
  for (const [p, init] of junk) statuses.push((await fetch(`${api}${p}`, init)).status);
  // Junk is refused (401) and counted; after 5 requests the address is limited, junk or not.
  expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
  expect(statuses.slice(5)).toEqual([429, 429]);
  const limited = await fetch(`${api}/v1/recordings?limit=1`);
  expect(limited.status).toBe(429);
  checkAgainstSpec('get', '/v1/recordings', 429, await limited.json());
  expect(limited.headers.get('ratelimit-policy') ?? limited.headers.get('ratelimit')).toBeTruthy();

  // A verified host has a budget of its own (9), counted per subject: a second token of the same subject shares it.
  const host = await livekitToken(env, 'any-room', { roomAdmin: true }, { identity: 'rate-host' });
  const again = await livekitToken(env, 'any-room', { roomAdmin: true }, { identity: 'rate-host', ttl: '11m' });
  const hostStatuses: number[] = [];
  for (let i = 0; i < 10; i++) hostStatuses.push((await fetch(`${api}/v1/rooms/any-room/recordings`, { headers: { Authorization: `Bearer ${i % 2 ? again : host}` } })).status);
  expect(hostStatuses.slice(0, 9)).toEqual(Array(9).fill(200));
  expect(hostStatuses[9]).toBe(429);
  // Another subject is not held back by the first one's use.
  const other = await livekitToken(env, 'any-room', { roomAdmin: true }, { identity: 'rate-other' });
  expect((await fetch(`${api}/v1/rooms/any-room/recordings`, { headers: { Authorization: `Bearer ${other}` } })).status).toBe(200);
  // Players' playlist and segment requests have a separate, larger budget.
  const hls = await fetch(`${api}/v1/rooms/any-room/recordings/20200101T000000Z-RM_x/hls/live.m3u8`);
  expect(hls.status).toBe(404);
});
