import IORedis from 'ioredis';
import { EDGE_STREAM_TTL_SECONDS, parseEdgeFields } from '../../src/contracts/live-edge';
import { EdgePublisher } from '../../src/ingest/outputs/edge-publisher';
import { log } from '../../src/shared/log';

/**
 * The edge publisher against this machine's Redis (127.0.0.1:6379, a database of its own): every
 * entry lands in order, and the stream carries its TTL from the first entry on, renewed by its run
 * and end entries without an EXPIRE per part.
 */
const redis = new IORedis('redis://127.0.0.1:6379/7', { maxRetriesPerRequest: 1 });
afterAll(() => redis.quit());

const part = (msn: number, p: number) => ({ t: 'part' as const, msn, part: p, duration: 0.213, segmentStartMs: 0, last: p === 8, partTarget: 0.213, targetDuration: 2 });

test('entries land in order with their bytes; the stream has its TTL from the start, and again at its end', async () => {
  const key = `roomcast-unit:edge:${process.pid}-${Date.now()}`;
  const pub = new EdgePublisher(redis, key, log);
  const run = { t: 'run' as const, firstMsn: 0, discontinuity: false, partTarget: 0.213, targetDuration: 2 };
  pub.publish(run, Buffer.from('init'));
  for (let p = 0; p < 9; p++) pub.publish(part(0, p), Buffer.from(`part ${p}`));
  await until(async () => (await redis.xlen(key)) === 10);
  const ttl = await redis.ttl(key);
  expect(ttl).toBeGreaterThan(EDGE_STREAM_TTL_SECONDS - 5);
  expect(ttl).toBeLessThanOrEqual(EDGE_STREAM_TTL_SECONDS);
  // The TTL is not renewed by every part (the point), so lower it and see the end entry renew it.
  await redis.expire(key, 100);
  pub.publish(part(1, 0), Buffer.from('part 9'));
  await until(async () => (await redis.xlen(key)) === 11);
  expect(await redis.ttl(key)).toBeLessThanOrEqual(100);
  pub.publish({ t: 'end' });
  await until(async () => (await redis.xlen(key)) === 12);
  expect(await redis.ttl(key)).toBeGreaterThan(EDGE_STREAM_TTL_SECONDS - 5);
  const entries = (await redis.xrangeBuffer(key, '-', '+')).map(([, f]) => parseEdgeFields(f));
  expect(entries.map((e) => e?.meta.t)).toEqual(['run', ...Array(10).fill('part'), 'end']);
  expect(entries.slice(1, 11).map((e) => e?.bytes?.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `part ${i}`));
  await redis.del(key);
});

async function until(ok: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
