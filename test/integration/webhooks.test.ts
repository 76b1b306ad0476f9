import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { recordJobId, QUEUES } from '../../src/contracts/jobs';
import { roomService } from '../../src/shared/livekit';
import { ARTIFACTS, testAppEnv } from '../support/env';
import { sleep } from '../support/scenario';
import { postWebhook, roomEvent, signWebhook } from '../support/webhook';

/** livekit-server's webhooks against the real api, Redis and BullMQ. */
const env = testAppEnv();
const api = env.PUBLIC_BASE_URL;
const connection = new IORedis(env.REDIS_URL, { maxRetriesPerRequest: null });
const queue = new Queue(QUEUES.record, { connection, prefix: env.QUEUE_PREFIX });
const rooms = roomService(env as never);

afterAll(async () => {
  await queue.close();
  connection.disconnect();
});

async function jobsFor(roomSid: string) {
  const jobs = await queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized']);
  return jobs.filter((j) => j?.data?.roomSid === roomSid);
}

const rejectedInLog = () =>
  readFileSync(path.join(ARTIFACTS, 'roomcast-api-ingest.log'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('webhook rejected')).length;

test('a real room_started enqueues exactly one record job, however often the webhook comes', async () => {
  const name = `wh-${Date.now()}`;
  const room = await rooms.createRoom({ name, emptyTimeout: 30 });
  let jobs = await jobsFor(room.sid);
  for (let i = 0; i < 50 && jobs.length === 0; i++) {
    await sleep(100);
    jobs = await jobsFor(room.sid);
  }
  expect(jobs.map((j) => j.id)).toEqual([recordJobId(room.sid)]);
  // livekit-server retries webhooks; a replay of the same event must add nothing.
  const body = roomEvent('room_started', { sid: room.sid, name });
  for (let i = 0; i < 3; i++) {
    const r = await postWebhook(api, body, await signWebhook(body, env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET));
    expect(r.status).toBe(200);
  }
  expect((await jobsFor(room.sid)).length).toBe(1);
  await rooms.deleteRoom(name);
});

describe('webhooks that must not start anything', () => {
  const sid = `RM_forged${Date.now()}`;
  const body = roomEvent('room_started', { sid, name: `forged-${Date.now()}` });
  let before: number;
  beforeAll(() => {
    before = rejectedInLog();
  });

  test.each([
    ['no Authorization header', async () => postWebhook(api, body)],
    ['a token signed with another secret', async () => postWebhook(api, body, await signWebhook(body, env.LIVEKIT_API_KEY, 'x'.repeat(40)))],
    ['a token for another API key', async () => postWebhook(api, body, await signWebhook(body, 'APIother', env.LIVEKIT_API_SECRET))],
    ['a tampered body', async () => postWebhook(api, body.replace('forged', 'evil'), await signWebhook(body, env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET))],
    ['garbage in the header', async () => postWebhook(api, body, 'Bearer not.a.jwt')],
  ])('%s: 401', async (_label, send) => {
    const r = await send();
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe('invalid_signature');
  });

  test('a signed body that is not a LiveKit event: 400', async () => {
    const bad = '{"event": "room_started", "room": {"sid": 42, "name": ["x"]}';
    const r = await postWebhook(api, bad, await signWebhook(bad, env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET));
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('malformed_webhook');
  });

  test('an oversized body: 413', async () => {
    const huge = 'x'.repeat(Number(env.MAX_WEBHOOK_BYTES ?? 256 * 1024) + 10);
    const r = await postWebhook(api, huge, await signWebhook(huge, env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET));
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe('payload_too_large');
  });

  afterAll(async () => {
    await sleep(300);
    expect(await jobsFor(sid)).toEqual([]);
    // Every rejection is logged; the api is still healthy.
    expect(rejectedInLog() - before).toBeGreaterThanOrEqual(6);
    expect((await fetch(`${api}/healthz`)).status).toBe(200);
  });
});
