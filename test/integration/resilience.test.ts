import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dispose } from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import { Parser } from 'm3u8-parser';
import { recordingPrefix, rel, safeKey } from '../../src/contracts/layout';
import { Manifest } from '../../src/contracts/manifest';
import { Program, tone } from '../../src/demo/program';
import { SpeakerBot } from '../../src/demo/speaker-bot';
import { roomService } from '../../src/shared/livekit';
import { startDaemon, stopDaemon } from '../../src/stack/daemon';
import { stackDaemons } from '../../src/stack/stack';
import { decode, findOnset } from '../support/audio';
import { testAppEnv, testSettings } from '../support/env';
import { RoomcastProcess } from '../support/roomcast-process';
import { waitForManifest } from '../support/manifest';
import { download, exists, getText, testS3 } from '../support/s3';
import { sleep } from '../support/scenario';

/** Storage going away under a live room, and a SIGTERM'd ingest: nothing may be lost. */
const env = testAppEnv();
const rooms = roomService(env as never);
const { s3, bucket } = testS3(env);
afterAll(async () => {
  s3.destroy();
  await dispose();
});

const BEEP_HZ = 800;
/** A beep every 500 ms from 1 s to `untilMs`. */
const beeps = (untilMs: number) => Array.from({ length: Math.floor((untilMs - 1000) / 500) }, (_, i) => 1000 + i * 500);

function bot(room: string, epoch: number, times: number[]) {
  return new SpeakerBot(
    { url: env.LIVEKIT_URL, apiKey: env.LIVEKIT_API_KEY, apiSecret: env.LIVEKIT_API_SECRET, room, identity: 'beeper', name: 'Beeper', dtx: false },
    new Program(times.map((atMs) => ({ atMs, pcm: tone(BEEP_HZ, 100, -12) }))),
    epoch,
  );
}

const manifestOf = (prefix: string, until: (m: Manifest) => boolean, timeoutMs = 60_000) => waitForManifest(s3, bucket, prefix, until, timeoutMs);

/** Downloads the VOD playlist and its segments, checks them, and decodes the mix. */
async function decodeVod(prefix: string): Promise<{ mix: Float32Array; segments: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-res-'));
  const text = (await getText(s3, bucket, prefix + rel.eventPlaylist))!;
  const p = new Parser();
  p.push(text);
  p.end();
  expect(p.manifest.endList).toBe(true);
  p.manifest.segments.forEach((s: { uri: string }, i: number) => expect(s.uri).toBe(`seg_${String(i).padStart(6, '0')}.ts`));
  writeFileSync(path.join(dir, 'index.m3u8'), text);
  for (const s of p.manifest.segments) await download(s3, bucket, prefix + 'hls/' + s.uri, path.join(dir, s.uri));
  return { mix: decode(path.join(dir, 'index.m3u8')), segments: p.manifest.segments.length };
}

/** Every beep is in the mix, evenly spaced (±40 ms of where the first one says it belongs). */
function expectAllBeeps(mix: Float32Array, times: number[]) {
  const first = findOnset(mix, BEEP_HZ, 0, 8_000);
  expect(first).not.toBeNull();
  const missing: number[] = [];
  for (const t of times) {
    const want = first! + (t - times[0]);
    const got = findOnset(mix, BEEP_HZ, want - 150, want + 150);
    if (got === null || Math.abs(got - want) > 40) missing.push(t);
  }
  expect(missing).toEqual([]);
}

test('S3 down for 6 s mid-room: every segment arrives in order, playlists never list a missing one', async () => {
  const name = `outage-${Date.now()}`;
  const info = await rooms.createRoom({ name, emptyTimeout: 60 });
  const { makeRecordingId } = await import('../../src/contracts/layout');
  const prefix = recordingPrefix(name, makeRecordingId(new Date(Number(info.creationTime) * 1000), info.sid));
  await manifestOf(prefix, (m) => m.status === 'recording');
  const epoch = Date.now();
  const times = beeps(15_000);
  const b = bot(name, epoch, times);
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
  const { mix, segments } = await decodeVod(prefix);
  expect(segments).toBe(m.hls.segments);
  expect(Math.abs((mix.length / 48) - m.durationMs)).toBeLessThanOrEqual(100);
  expectAllBeeps(mix, times);
  const metrics = await (await fetch(`${env.PUBLIC_BASE_URL}/metrics`)).text();
  const retries = Number(/roomcast_upload_retries_total (\d+)/.exec(metrics)?.[1]);
  console.log(`upload retries during the outage: ${retries}`);
  expect(retries).toBeGreaterThan(0);
});

test('SIGTERM drains an ingest: the recording is closed, uploaded and valid, the spool empty', async () => {
  // A second roomcast with its own queue prefix and api port, so this room goes to it alone.
  const spool = mkdtempSync(path.join(os.tmpdir(), 'roomcast-spool-'));
  const env2 = { ...env, QUEUE_PREFIX: `${env.QUEUE_PREFIX}-drain`, API_PORT: '18090', PUBLIC_BASE_URL: 'http://127.0.0.1:18090', SPOOL_DIR: spool };
  const rc = new RoomcastProcess('roomcast-drain', env2);
  await rc.start();
  const name = `drain-${Date.now()}`;
  await rooms.createRoom({ name, emptyTimeout: 60, metadata: JSON.stringify({ roomcast: { record: false } }) });
  const at = new AccessToken(env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET, { identity: 'host' });
  at.addGrant({ room: name, roomRecord: true });
  const res = await fetch(`${env2.PUBLIC_BASE_URL}/v1/rooms/${name}/recording`, { method: 'POST', headers: { Authorization: `Bearer ${await at.toJwt()}` } });
  expect(res.status).toBe(202);
  const { recordingId } = (await res.json()) as { recordingId: string };
  const prefix = recordingPrefix(name, recordingId);
  await manifestOf(prefix, (m) => m.status === 'recording');
  const epoch = Date.now();
  const times = beeps(7_000);
  const b = bot(name, epoch, times);
  await b.join();
  await sleep(epoch + 7_500 - Date.now());
  const t = Date.now();
  await rc.stop('SIGTERM');
  const drainMs = Date.now() - t;
  console.log(`ingest drained and exited in ${drainMs} ms (exit code ${rc.exitCode})`);
  expect(rc.exitCode).toBe(0);
  expect(drainMs).toBeLessThan(15_000);
  await b.leave();
  await rooms.deleteRoom(name);
  const m = await manifestOf(prefix, (x) => x.status !== 'recording', 5_000);
  expect(m.hls.ended).toBe(true);
  const { mix } = await decodeVod(prefix);
  expectAllBeeps(mix, times);
  const left = path.join(spool, safeKey(name));
  expect(existsSync(left) ? readdirSync(left) : []).toEqual([]);
});
