/**
 * A record job handed out again while its recorder lives (lapsed lock) follows that recorder's
 * pulse and takes over only when the pulse stops: against the test stack's real Redis.
 */
import IORedis from 'ioredis';
import pino from 'pino';
import { followLiveRecorder } from '../../src/ingest/failover/follow-recorder';
import { Control } from '../../src/shared/control';
import { testAppEnv } from '../support/env';

const log = pino({ level: 'silent' });
let redis: IORedis;
let control: Control;

beforeAll(() => {
  redis = new IORedis(testAppEnv().REDIS_URL, { maxRetriesPerRequest: 1 });
  control = new Control(redis, `follow-test-${process.pid}`);
});
afterAll(() => redis.disconnect());

const recordingId = (name: string) => `${name}-${Date.now()}`;

test('no pulse: the job resumes at once (after a 2.5 s grace only if Redis has just started)', async () => {
  const fresh = (await control.redisUptimeSeconds()) < 30;
  const t0 = Date.now();
  expect(await followLiveRecorder(control, recordingId('dead'), log)).toBe(false);
  const took = Date.now() - t0;
  if (fresh) expect(took).toBeGreaterThanOrEqual(2_400);
  else expect(took).toBeLessThan(500);
});

test('a live pulse is followed until it stops, then the job goes on (takes over)', async () => {
  const id = recordingId('live');
  // Another recorder's pulse: 250 ms beats, 3 s expiry, as Recording.run keeps it.
  await control.beat(id, 'other');
  const beating = setInterval(() => void control.beat(id, 'other'), 250);
  const t0 = Date.now();
  const followed = followLiveRecorder(control, id, log);
  let settled = false;
  void followed.then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 2_000));
  expect(settled).toBe(false); // still following while it beats
  clearInterval(beating); // the recorder dies: its last beat lapses 3 s later
  const diedAt = Date.now();
  expect(await followed).toBe(true);
  const after = Date.now() - diedAt;
  expect(after).toBeGreaterThanOrEqual(2_500);
  expect(after).toBeLessThan(3_600);
  console.log(`followed ${diedAt - t0} ms, took over ${after} ms after the last beat`);
});

test('a recorder that ends cleanly (pulse removed) releases the follower at once', async () => {
  const id = recordingId('ends');
  await control.beat(id, 'other');
  const followed = followLiveRecorder(control, id, log);
  await new Promise((r) => setTimeout(r, 600));
  const endAt = Date.now();
  await control.endBeat(id, 'other');
  expect(await followed).toBe(true);
  expect(Date.now() - endAt).toBeLessThan(600);
});
