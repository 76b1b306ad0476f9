import { dispose } from '@livekit/rtc-node';
import { recordingPrefix, rel } from '../../src/contracts/layout';
import { Manifest } from '../../src/contracts/manifest';
import { roomService } from '../../src/shared/livekit';
import { startDaemon, stopDaemon } from '../../src/stack/daemon';
import { stackDaemons } from '../../src/stack/stack';
import { beeper, beeps, decodeVod, missingBeeps } from '../support/beeps';
import { testAppEnv, testSettings } from '../support/env';
import { waitForManifest } from '../support/manifest';
import { exists, getText, testS3 } from '../support/s3';
import { sleep } from '../support/scenario';

/** Storage going away under a live room: nothing may be lost. (Ingest crashes and restarts: resume.test.ts.) */
const env = testAppEnv();
const rooms = roomService(env as never);
const { s3, bucket } = testS3(env);
afterAll(async () => {
  s3.destroy();
  await dispose();
});

const manifestOf = (prefix: string, until: (m: Manifest) => boolean, timeoutMs = 60_000) => waitForManifest(s3, bucket, prefix, until, timeoutMs);

test('S3 down for 6 s mid-room: every segment arrives in order, playlists never list a missing one', async () => {
  const name = `outage-${Date.now()}`;
  const info = await rooms.createRoom({ name, emptyTimeout: 60 });
  const { makeRecordingId } = await import('../../src/contracts/layout');
  const prefix = recordingPrefix(name, makeRecordingId(new Date(Number(info.creationTime) * 1000), info.sid));
  await manifestOf(prefix, (m) => m.status === 'recording');
  const epoch = Date.now();
  const times = beeps(15_000);
  const b = beeper(env, name, epoch, times);
  await b.join();
  const s3d = stackDaemons(testSettings()).find((d) => d.name === 's3')!;
  await sleep(epoch + 4_000 - Date.now());
  await stopDaemon(s3d);
  const downAt = Date.now();
  await sleep(6_000);
  await startDaemon(s3d);
  console.log(`S3 was down for ${Date.now() - downAt} ms`);
  // From now on a listener polls the live playlist: it must never name a segment S3 lacks.
  const problems: string[] = [];
  const watch = (async () => {
    while (Date.now() < epoch + 16_000) {
      const live = await getText(s3, bucket, prefix + rel.livePlaylist);
      if (live) {
        for (const uri of live.split('\n').filter((l) => l.endsWith('.ts'))) {
          if (!(await exists(s3, bucket, prefix + 'hls/' + uri))) problems.push(uri);
        }
      }
      await sleep(200);
    }
  })();
  await sleep(epoch + 16_000 - Date.now());
  await watch;
  await b.leave();
  await rooms.deleteRoom(name);
  const m = await manifestOf(prefix, (x) => x.status !== 'recording');
  expect(problems).toEqual([]);
  const { mix, segments } = await decodeVod(s3, bucket, prefix);
  expect(segments).toBe(m.hls.segments);
  expect(Math.abs((mix.length / 48) - m.durationMs)).toBeLessThanOrEqual(100);
  expect(missingBeeps(mix, times, epoch - Date.parse(m.startedAt))).toEqual([]);
  const metrics = await (await fetch(`${env.PUBLIC_BASE_URL}/metrics`)).text();
  const retries = Number(/roomcast_upload_retries_total (\d+)/.exec(metrics)?.[1]);
  console.log(`upload retries during the outage: ${retries}`);
  expect(retries).toBeGreaterThan(0);
});
