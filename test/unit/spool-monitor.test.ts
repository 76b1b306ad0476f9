import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import pino from 'pino';
import { acceptsRooms, spoolHealth } from '../../src/ingest/spool/spool-monitor';
import { Uploader } from '../../src/ingest/spool/uploader';
import { metrics } from '../../src/shared/metrics';
import { RecordingStore } from '../../src/storage/recording-store';

test('spool free space: ok, low below the minimum, critical below a quarter of it', () => {
  const min = 1024 * 1024 * 1024;
  expect(spoolHealth(5 * min, min)).toBe('ok');
  expect(spoolHealth(min, min)).toBe('ok');
  expect(spoolHealth(min - 1, min)).toBe('low');
  expect(spoolHealth(min / 4, min)).toBe('low');
  expect(spoolHealth(min / 4 - 1, min)).toBe('critical');
  expect(spoolHealth(0, min)).toBe('critical');
});

test('an ingest takes no new rooms while its spool is over its bound or its disk is low, and again below 80 % of the bound', () => {
  const limits = { minFreeBytes: 100, maxSpooledBytes: 1000 };
  expect(acceptsRooms(1e6, 1000, limits, true)).toBe(true);
  expect(acceptsRooms(1e6, 1001, limits, true)).toBe(false);
  expect(acceptsRooms(1e6, 900, limits, false)).toBe(false); // hysteresis: not flapping at the bound
  expect(acceptsRooms(1e6, 800, limits, false)).toBe(true);
  expect(acceptsRooms(99, 0, limits, true)).toBe(false);
});

test('files waiting for an unreachable S3 count as spooled from the moment they wait', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-spool-'));
  // Nothing listens on port 9: every PUT fails as it would with S3 down.
  const s3 = new S3Client({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, maxAttempts: 1 });
  const up = new Uploader(RecordingStore.of(s3, 'b', 'room', '20260101T000000Z-RM_x', false), pino({ level: 'silent' }), 2);
  const before = (await metrics.spoolBytes.get()).values[0]?.value ?? 0;
  for (let i = 0; i < 10; i++) {
    const f = path.join(dir, `seg${i}.ts`);
    writeFileSync(f, Buffer.alloc(1000 + i));
    up.enqueue({ key: `hls/seg_00000${i}.ts`, file: f });
  }
  up.enqueue({ key: 'hls/live.m3u8', body: 'x', live: true });
  const spooled = ((await metrics.spoolBytes.get()).values[0]?.value ?? 0) - before;
  expect(spooled).toBe(10 * 1000 + 45);
  expect(up.pending).toBe(11);
  up.stop();
  await new Promise((r) => setTimeout(r, 500)); // let the failed attempts see the stop
  s3.destroy();
});
