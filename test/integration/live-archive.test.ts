import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rel } from '../../src/contracts/layout';
import { LiveArchiveStatus } from '../../src/contracts/live-archive';
import { log } from '../../src/shared/log';
import { RecordingStore } from '../../src/storage/recording-store';
import { archiveLive, readLiveArchive } from '../../src/workers/archive/live-archive';
import type { SpeakerTimeline } from '../../src/workers/archive/outputs';
import { finalize } from '../../src/workers/finalize';
import { decode, loudness, xcorrLagMs } from '../support/audio';
import { testAppEnv } from '../support/env';
import { generateRecording, librivoxClips } from '../support/generated-recording';
import { download, testS3 } from '../support/s3';
import { sleep } from '../support/scenario';

/**
 * The live archive: the archive files made while the room runs (chunks arriving one by one, as
 * ingest uploads them), with a gain fixed from the first 20 s, so finalize has nothing left to do.
 */
const env = testAppEnv();
const { s3, bucket } = testS3(env);
const deps = { s3, bucket, log };
const workdir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-live-archive-'));
let rec: Awaited<ReturnType<typeof generateRecording>>;
let status: LiveArchiveStatus;
/** The furthest the job had got before the room ended. */
let midway: LiveArchiveStatus | null = null;

beforeAll(async () => {
  // A quiet room (12 dB under the clips): the archive needs a large gain, so its limiter matters.
  rec = await generateRecording({ s3, bucket, minutes: 2.5, clips: librivoxClips(), gainDb: -12 });
  // 'cat' joins late: their first four chunks never come (silence in their file).
  const late = (stream: string, k: number) => stream === 'cat' && k < 4;
  await rec.publish(2, false, late);
  const live = archiveLive({ ...deps, measureMs: 20_000, pollMs: 100 }, rec.job);
  for (let k = 3; k <= rec.chunkCount; k++) {
    await rec.publish(k, false, late);
    await sleep(1000); // 10× real time
    const now = await readLiveArchive(RecordingStore.of(s3, bucket, rec.job.room, rec.job.recordingId));
    if (now && (!midway || now.doneMs >= midway.doneMs)) midway = now;
  }
  await rec.publish(rec.chunkCount, true, late);
  status = await live;
}, 120_000);

afterAll(() => {
  rec?.cleanup();
  rmSync(workdir, { recursive: true, force: true });
  s3.destroy();
});

test('the archive is made while the room is live, with a gain from its first part', () => {
  console.log(`midway: ${JSON.stringify({ state: midway?.state, doneMs: midway?.doneMs })}; end: ${JSON.stringify({ ...status, files: undefined })}`);
  expect(midway?.state).toBe('running');
  expect(midway!.doneMs).toBeGreaterThan(40_000);
  expect(status.state).toBe('complete');
  expect(status.durationMs).toBe(rec.durationMs);
  expect(status.loudness!.measuredMs).toBeGreaterThanOrEqual(20_000);
  expect(status.loudness!.measuredMs).toBeLessThan(rec.durationMs / 2);
  expect(status.loudness!.gainDb).toBeGreaterThan(6);
});

test('finalize takes the live files: loudness on target, speakers on the mix timeline', async () => {
  const t = performance.now();
  await finalize(deps, rec.job);
  const tookMs = performance.now() - t;
  const m = (await RecordingStore.of(s3, bucket, rec.job.room, rec.job.recordingId).readManifest())!;
  console.log(`finalize with the live archive: ${tookMs.toFixed(0)} ms; files ${Object.keys(m.files).join(', ')}`);
  expect(tookMs).toBeLessThan(5_000);
  expect(m.processing.finalize?.status).toBe('done');
  for (const ext of ['opus', 'm4a', 'mp3'] as const) {
    const file = path.join(workdir, `mix.${ext}`);
    await download(s3, bucket, rec.prefix + rel.mixArchive(ext), file);
    const l = loudness(file);
    const seconds = decode(file).length / 48_000;
    console.log(`live mix.${ext}: ${l.I} LUFS, true peak ${l.TP} dBTP, ${seconds.toFixed(3)} s`);
    expect(Math.abs(l.I + 16)).toBeLessThanOrEqual(1);
    expect(l.TP).toBeLessThanOrEqual(-1);
    expect(Math.abs(seconds * 1000 - rec.durationMs)).toBeLessThanOrEqual(60);
  }
  const timeline = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: rec.prefix + rel.speakerTimeline }))).Body!.transformToString()) as SpeakerTimeline;
  const at8k = (f: string) => decode(f).filter((_, i) => i % 6 === 0);
  const mix = at8k(path.join(workdir, 'mix.opus'));
  for (const sp of m.speakers) {
    const file = path.join(workdir, `${sp.key}.opus`);
    await download(s3, bucket, rec.prefix + rel.speakerFile(sp.key), file);
    const own = at8k(file);
    expect(Math.abs(own.length - mix.length)).toBeLessThanOrEqual(8 * 60);
    const turn = timeline.turns.find((x) => x.speaker === sp.identity && x.startMs > 40_000)!;
    const from = Math.round((turn.startMs * 8000) / 1000);
    const lag = xcorrLagMs(mix.subarray(from, from + 24_000), own.subarray(from, from + 24_000), 100);
    console.log(`${sp.key}: talks ${timeline.speakers.find((s) => s.key === sp.key)!.talkMs} ms; lag against the mix ${lag.toFixed(2)} ms`);
    expect(Math.abs(lag)).toBeLessThanOrEqual(10);
  }
  // The late joiner's first 40 s are silence in their own file.
  const cat = at8k(path.join(workdir, 'cat.opus'));
  expect(cat.subarray(0, 8 * 39_000).reduce((a, x) => Math.max(a, Math.abs(x)), 0)).toBeLessThan(0.01);
  expect(timeline.turns.filter((x) => x.speaker === 'cat').every((x) => x.startMs >= 40_000)).toBe(true);
});

test('a live archive that does not cover the final manifest is not used: finalize makes the files from the chunks', async () => {
  // As if the live job had read the mix without its last chunk, or read a chunk before a resume
  // rewrote it (same index, other bytes).
  const lastMix = status.chunks.mix.length - 1;
  const variants = {
    'a chunk short': { ...status, chunks: { ...status.chunks, mix: status.chunks.mix.slice(0, -1) }, chunkBytes: { ...status.chunkBytes, mix: status.chunkBytes.mix.slice(0, -1) } },
    'a chunk rewritten since': { ...status, chunkBytes: { ...status.chunkBytes, mix: status.chunkBytes.mix.map((b, i) => (i === lastMix ? b - 1 : b)) } },
  };
  for (const [what, tampered] of Object.entries(variants)) {
    const before = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: rec.prefix + rel.mixArchive('m4a') }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: rec.prefix + rel.liveArchive, Body: JSON.stringify(tampered) }));
    await sleep(1100); // LastModified has one-second resolution
    await finalize(deps, rec.job);
    const after = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: rec.prefix + rel.mixArchive('m4a') }));
    expect({ what, remade: after.LastModified!.getTime() > before.LastModified!.getTime() }).toEqual({ what, remade: true });
    const file = path.join(workdir, 'full.m4a');
    await download(s3, bucket, rec.prefix + rel.mixArchive('m4a'), file);
    const l = loudness(file);
    console.log(`${what} → from the chunks, mix.m4a: ${l.I} LUFS, true peak ${l.TP} dBTP`);
    expect(Math.abs(l.I + 16)).toBeLessThanOrEqual(1);
    expect(l.TP).toBeLessThanOrEqual(-1);
  }
}, 120_000);
