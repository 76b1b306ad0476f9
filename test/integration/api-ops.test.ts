import { testAppEnv } from '../support/env';
import { checkAgainstSpec } from '../support/openapi';
import { RoomcastProcess } from '../support/roomcast-process';
import { livekitToken } from '../support/tokens';

/** Health, metrics, the OpenAPI document and the anonymous rate limits, on an api process of its own. */
const env = { ...testAppEnv(), API_PORT: '18093', RATE_LIMIT_PER_MINUTE: '5', HLS_RATE_LIMIT_PER_MINUTE: '8' };
const api = `http://127.0.0.1:${env.API_PORT}`;
const proc = new RoomcastProcess('roomcast-api-ops', env, ['api']);
beforeAll(() => proc.start(), 30_000);
afterAll(() => proc.stop());

test('/healthz checks Redis, S3 and LiveKit; /metrics exposes the recording and job metrics', async () => {
  const h = await fetch(`${api}/healthz`);
  const body = (await h.json()) as any;
  checkAgainstSpec('get', '/healthz', h.status, body);
  expect(h.status).toBe(200);
  expect(body.checks.map((c: any) => [c.name, c.ok])).toEqual([['redis', true], ['s3', true], ['livekit', true]]);
  const text = await (await fetch(`${api}/metrics`)).text();
  for (const name of ['roomcast_recordings_active', 'roomcast_hls_segments_uploaded_total', 'roomcast_upload_retries_total', 'roomcast_spool_bytes', 'roomcast_spool_free_bytes', 'roomcast_recordings_resumed_total', 'roomcast_job_seconds', 'roomcast_transcription_rtf', 'roomcast_segment_upload_seconds']) {
    expect(text).toContain(`# TYPE ${name} `);
  }
});

test('the OpenAPI document is served and describes every /v1 route', async () => {
  const doc = (await (await fetch(`${api}/v1/openapi.json`)).json()) as any;
  expect(doc.openapi).toBe('3.1.0');
  for (const p of ['/v1/recordings', '/v1/rooms', '/v1/rooms/{room}/recordings/{recordingId}', '/v1/rooms/{room}/recordings/{recordingId}/download/all.zip', '/v1/rooms/{room}/live/status']) {
    expect(Object.keys(doc.paths)).toContain(p);
  }
});

test('anonymous clients are rate limited (429, documented error body); hosts and players have their own budgets', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) statuses.push((await fetch(`${api}/v1/recordings?limit=1`)).status);
  expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
  const limited = await fetch(`${api}/v1/recordings?limit=1`);
  expect(limited.status).toBe(429);
  checkAgainstSpec('get', '/v1/recordings', 429, await limited.json());
  expect(limited.headers.get('ratelimit-policy') ?? limited.headers.get('ratelimit')).toBeTruthy();
  // A host with a token is not counted against the anonymous budget.
  const host = await livekitToken(env, 'any-room', { roomAdmin: true });
  expect((await fetch(`${api}/v1/rooms/any-room/recordings`, { headers: { Authorization: `Bearer ${host}` } })).status).toBe(200);
  // Players' playlist and segment requests have a separate, larger budget.
  const hls = await fetch(`${api}/v1/rooms/any-room/recordings/20200101T000000Z-RM_x/hls/live.m3u8`);
  expect(hls.status).toBe(404);
});
