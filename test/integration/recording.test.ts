import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dispose } from '@livekit/rtc-node';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { Parser } from 'm3u8-parser';
import { recordingPrefix, rel } from '../../src/contracts/layout';
import { Manifest } from '../../src/contracts/manifest';
import { finalizeJobId, QUEUES } from '../../src/contracts/jobs';
import { assemble, decode, findOnset, maxToneAmplitude, peakAbs } from '../support/audio';
import { waitForIdleWorkers } from '../support/idle';
import { testAppEnv } from '../support/env';
import { waitForManifest } from '../support/manifest';
import { download, exists, getText, testS3 } from '../support/s3';
import { Burst, runScenario, ScenarioResult, ScenarioSpeaker, sleep } from '../support/scenario';

/**
 * A real room (livekit-server, rtc-node bots, Redis/BullMQ, S3, FFmpeg): tone bursts at known
 * moments, a late joiner, a host mute, a leave/rejoin and an overlap; then the HLS and each
 * speaker's file are decoded from S3 and measured.
 */
const env = testAppEnv();
const { s3, bucket } = testS3(env);
const room = `rec-test-${Date.now()}`;

const speakers: ScenarioSpeaker[] = [
  { identity: 'ann', freq: 600, presence: [[0, 17_500]] },
  { identity: 'ben', freq: 1100, presence: [[0, 17_500]] },
  { identity: 'cat', freq: 1900, presence: [[4_000, 10_500], [12_500, 17_500]] },
];
const B = (speaker: string, atMs: number, extra: Partial<Burst> = {}): Burst => ({
  speaker,
  freq: speakers.find((s) => s.identity === speaker)!.freq,
  atMs,
  durMs: 300,
  dbfs: -12,
  ...extra,
});
const bursts: Burst[] = [
  B('ann', 1_000),
  B('ben', 2_000),
  B('ann', 3_000),
  B('cat', 5_000), // late joiner
  B('ann', 8_000, { dbfs: -3 }), // overlap: two loud speakers at once
  B('ben', 8_000, { dbfs: -3 }),
  B('cat', 9_500),
  B('ann', 12_000, { muted: true }), // the host mutes ann from 11 s to 13.5 s
  B('ben', 14_000),
  B('cat', 15_000), // after leaving at 10.5 s and rejoining at 12.5 s
  B('ann', 16_000),
];

let result: ScenarioResult;
let manifest: Manifest;
let prefix: string;
let mix: Float32Array;
let workdir: string;
/** Offset of the pipeline (expected → heard), from the first burst. */
let latencyMs: number;
const liveProblems: string[] = [];
let livePolls = 0;

const expectedMs = (b: Burst) => result.epochMs + b.atMs - Date.parse(manifest.startedAt);

/** The segment upload-delay histogram of the roomcast process, from /metrics. */
async function uploadHistogram(): Promise<Record<string, number>> {
  const text = await (await fetch(`${env.PUBLIC_BASE_URL}/metrics`, { headers: { authorization: `Bearer ${env.METRICS_TOKEN}` } })).text();
  const out: Record<string, number> = { count: Number(/roomcast_segment_upload_seconds_count (\d+)/.exec(text)?.[1] ?? 0) };
  for (const le of ['0.1', '0.25', '1']) out[le] = Number(new RegExp(`roomcast_segment_upload_seconds_bucket\\{le="${le}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  return out;
}
let uploadBefore: Record<string, number>;
let uploadAfter: Record<string, number>;

beforeAll(async () => {
  const waited = await waitForIdleWorkers(env);
  if (waited > 0) console.log(`waited ${waited} ms for earlier tests' after-room work to finish`);
  uploadBefore = await uploadHistogram();
  workdir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-rec-'));
  result = await runScenario({
    env,
    room,
    speakers,
    bursts,
    events: [
      { atMs: 11_000, action: 'mute', identity: 'ann' },
      { atMs: 13_500, action: 'unmute', identity: 'ann' },
    ],
    endMs: 17_800,
    dtx: process.env.BOT_DTX === '1',
    during: async (stopped) => {
      // A live listener's view: the sliding playlist must only ever list segments that exist.
      while (!stopped()) {
        const pfx = recordingPrefix(room, (await activeId()) ?? '');
        const text = await getText(s3, bucket, pfx + rel.livePlaylist);
        if (text) {
          livePolls++;
          const p = new Parser();
          p.push(text);
          p.end();
          for (const seg of p.manifest.segments as Array<{ uri: string }>) {
            if (!(await exists(s3, bucket, pfx + 'hls/' + seg.uri))) liveProblems.push(`listed but missing: ${seg.uri}`);
          }
        }
        await sleep(300);
      }
    },
  });
  prefix = recordingPrefix(room, result.active.recordingId);
  // The recording hands over shortly after the room is deleted.
  manifest = await waitForManifest(s3, bucket, prefix, (m) => m.status !== 'recording');
  uploadAfter = await uploadHistogram();
  // FFmpeg reads the VOD playlist from start to end, as a player would.
  const playlist = (await getText(s3, bucket, prefix + rel.eventPlaylist))!;
  writeFileSync(path.join(workdir, 'index.m3u8'), playlist);
  for (const line of [rel.hlsInit.slice(4), ...playlist.split('\n').filter((l) => l.endsWith('.m4s'))]) {
    await download(s3, bucket, prefix + 'hls/' + line.trim(), path.join(workdir, line.trim()));
  }
  mix = decode(path.join(workdir, 'index.m3u8'));
  const first = bursts[0];
  const heard = findOnset(mix, first.freq, expectedMs(first) - 200, expectedMs(first) + 2_000);
  if (heard === null) throw new Error('first burst not found in the mix');
  latencyMs = heard - expectedMs(first);
}, 180_000);

afterAll(async () => {
  s3.destroy();
  await dispose();
});

let activeIdCache: string | undefined;
async function activeId(): Promise<string | undefined> {
  if (activeIdCache) return activeIdCache;
  const redis = new IORedis(env.REDIS_URL);
  const v = await redis.get(`${env.QUEUE_PREFIX}:ctl:active:${room}`);
  redis.disconnect();
  activeIdCache = v ? JSON.parse(v).recordingId : undefined;
  return activeIdCache;
}

// docs/ARCHITECTURE.md: 0.8–1.07 s in the runs of 2026-11-30 (webhook, queue, RoomService check, rtc connect).
test('the recorder joined within 1.5 s of the room starting', () => {
  const joinedMs = Date.parse(result.active.joinedAt!) - result.createdAtMs;
  console.log(`recorder joined ${joinedMs} ms after the room was created`);
  expect(joinedMs).toBeLessThanOrEqual(1500);
});

test('the VOD playlist parses, runs on without holes, ends, and every segment is in S3', async () => {
  const text = (await getText(s3, bucket, prefix + rel.eventPlaylist))!;
  const p = new Parser();
  p.push(text);
  p.end();
  const m = p.manifest;
  expect(m.endList).toBe(true);
  expect(m.playlistType).toBe('VOD');
  expect(m.mediaSequence ?? 0).toBe(0);
  expect(m.segments.length).toBe(manifest.hls.segments);
  let prevEnd: number | undefined;
  m.segments.forEach((seg: { uri: string; duration: number; dateTimeObject: Date }, i: number) => {
    expect(seg.uri).toBe(`seg_${String(i).padStart(6, '0')}.m4s`);
    // Full-length segments, but the last: the room may end just after a boundary.
    if (i < m.segments.length - 1) expect(seg.duration).toBeGreaterThan(1);
    else expect(seg.duration).toBeGreaterThan(0);
    expect(seg.duration).toBeLessThanOrEqual(m.targetDuration);
    // Program date-times follow the audio: each segment starts where the previous ended.
    const start = seg.dateTimeObject.getTime();
    if (prevEnd !== undefined) expect(Math.abs(start - prevEnd)).toBeLessThan(5);
    prevEnd = start + seg.duration * 1000;
  });
  expect(Math.abs(m.segments[0].dateTimeObject.getTime() - Date.parse(manifest.startedAt))).toBeLessThan(5);
  for (const seg of m.segments) expect(await exists(s3, bucket, prefix + 'hls/' + seg.uri)).toBe(true);

  const live = new Parser();
  live.push((await getText(s3, bucket, prefix + rel.livePlaylist))!);
  live.end();
  expect(live.manifest.endList).toBe(true);
  expect(live.manifest.segments.length).toBe(Math.min(6, m.segments.length));
  expect(live.manifest.mediaSequence).toBe(m.segments.length - live.manifest.segments.length);
});

test('while live, the sliding playlist only listed segments that were in S3', () => {
  expect(livePolls).toBeGreaterThan(20);
  expect(liveProblems).toEqual([]);
});

test('the decoded mix lasts as long as the recording (±100 ms)', () => {
  const mixMs = (mix.length / 48_000) * 1000;
  console.log(`mix ${mixMs.toFixed(1)} ms, manifest ${manifest.durationMs} ms, pipeline offset ${latencyMs.toFixed(1)} ms`);
  expect(Math.abs(mixMs - manifest.durationMs)).toBeLessThanOrEqual(100);
  // And the recording covers the room: from the recorder's start to the room's deletion.
  const wallMs = result.endedAtMs - Date.parse(manifest.startedAt);
  expect(manifest.durationMs).toBeGreaterThanOrEqual(wallMs - 100);
  expect(manifest.durationMs).toBeLessThan(wallMs + 5_000);
});

/**
 * Every burst in the mix where it belongs. Each speaker reaches the recorder through their own
 * network path and jitter buffer, whose delay roomcast cannot see (rtc-node gives no RTP
 * timestamps), so a speaker's bursts are held to ±40 ms of one another (their median; one lone
 * jitter-buffer jump up to 60 ms allowed: expectOnOneClock); and the
 * speakers to ±80 ms of one another (measured: up to ~60 ms apart for a late joiner).
 */
test('every burst is heard in the mix where it belongs (a speaker\'s within ±40 ms of one another, speakers within ±80 ms)', () => {
  const report: string[] = [];
  const found = bursts.filter((x) => !x.muted).map((b) => {
    const want = expectedMs(b) + latencyMs;
    const got = findOnset(mix, b.freq, want - 250, want + 250);
    const err = got === null ? null : got - want;
    report.push(`${b.speaker}@${b.atMs}: ${err === null ? 'missing' : err.toFixed(1) + ' ms'}`);
    return { b, err };
  });
  console.log('mix onset errors (vs the first burst of all): ' + report.join(', '));
  for (const { err } of found) {
    expect(err).not.toBeNull();
    expect(Math.abs(err!)).toBeLessThanOrEqual(80);
  }
  for (const sp of speakers) {
    const own = found.filter((f) => f.b.speaker === sp.identity);
    expectOnOneClock(`${sp.identity} in the mix`, own.map((f) => f.err! - own[0].err!));
  }
});

/**
 * A speaker's bursts on one clock: within ±40 ms of their median, but for one lone late burst up
 * to 60 ms: a sudden jitter-buffer jump shows in the stats only after the audio it delayed (README,
 * Timing model: 47–55 ms measured; long-room.test.ts allows the same once per 30 minutes per
 * speaker). The median, not the first burst: the jump may hit the first one.
 */
function expectOnOneClock(label: string, offsets: number[]): void {
  const sorted = offsets.slice().sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const beyond = offsets.map((v) => v - median).filter((d) => Math.abs(d) > 40);
  const ok = beyond.length === 0 || (beyond.length === 1 && beyond[0] > 0 && beyond[0] <= 60);
  expect({ label, offsets, median, ok }).toEqual({ label, offsets, median, ok: true });
}

test('a muted speaker is silent, and overlapping loud speakers do not clip', () => {
  const muted = bursts.find((b) => b.muted)!;
  const at = expectedMs(muted) + latencyMs;
  expect(maxToneAmplitude(mix, muted.freq, at - 50, at + muted.durMs + 50)).toBeLessThan(0.003);

  const overlap = bursts.filter((b) => b.atMs === 8_000);
  const from = expectedMs(overlap[0]) + latencyMs;
  for (const b of overlap) expect(maxToneAmplitude(mix, b.freq, from, from + 300)).toBeGreaterThan(0.2);
  const peak = peakAbs(mix, from - 100, from + 400);
  console.log(`overlap peak ${peak.toFixed(3)} (two −3 dBFS tones, ${(20 * Math.log10(peak)).toFixed(2)} dBFS)`);
  expect(peak).toBeLessThan(0.99);
  expect(peakAbs(mix)).toBeLessThan(0.99);
});

test('each speaker file is on the same timeline, holds only that speaker, and lasts the recording', async () => {
  expect(manifest.speakers.map((s) => s.identity).sort()).toEqual(['ann', 'ben', 'cat']);
  for (const sp of manifest.speakers) {
    const pieces = [];
    for (const c of sp.chunks) {
      const file = path.join(workdir, `${sp.key}-${c.index}.flac`);
      const { contentType } = await download(s3, bucket, prefix + c.key, file);
      expect(contentType).toBe('audio/flac');
      pieces.push({ startMs: c.startMs, samples: decode(file) });
    }
    const audio = assemble(pieces);
    const lenMs = (audio.length / 48_000) * 1000;
    expect(Math.abs(lenMs - manifest.durationMs)).toBeLessThanOrEqual(100);
    const mine = speakers.find((s) => s.identity === sp.identity)!;
    const own = bursts.filter((b) => b.speaker === sp.identity);
    const heard: Array<{ b: Burst; inFile: number | null; inMix: number | null }> = [];
    for (const b of own) {
      const want = expectedMs(b) + latencyMs;
      if (b.muted) {
        expect(maxToneAmplitude(audio, b.freq, want - 100, want + b.durMs + 100)).toBeLessThan(0.003);
        continue;
      }
      heard.push({ b, inFile: findOnset(audio, b.freq, want - 300, want + 300), inMix: findOnset(mix, b.freq, want - 250, want + 250) });
    }
    const first = heard[0];
    const vsFirst = heard.map((h) => h.inFile! - first.inFile! - (h.b.atMs - first.b.atMs));
    const vsMix = heard.map((h) => h.inFile! - h.inMix!);
    console.log(`${sp.identity}: onset vs own first burst (ms): ${vsFirst.map((v) => v.toFixed(1)).join(', ')}; file minus mix (ms): ${vsMix.map((v) => v.toFixed(1)).join(', ')}`);
    for (const h of heard) expect(h.inFile).not.toBeNull();
    expectOnOneClock(`${sp.identity}'s own file`, vsFirst);
    // Same timeline as the mix (the AAC priming is compensated): the same burst at the same time.
    for (const v of vsMix) expect(Math.abs(v)).toBeLessThanOrEqual(10);
    // Nobody else leaks into a speaker's own track.
    for (const other of speakers.filter((s) => s !== mine)) {
      // (Bursts that coincide with one of this speaker's own are skipped: its loud tone leaks into
      // the neighbouring Goertzel bins.)
      const alone = (x: Burst) => !own.some((o) => Math.abs(o.atMs - x.atMs) < 400);
      for (const b of bursts.filter((x) => x.speaker === other.identity && !x.muted && alone(x))) {
        const at = expectedMs(b) + latencyMs;
        expect(maxToneAmplitude(audio, other.freq, at, at + b.durMs)).toBeLessThan(0.003);
      }
    }
  }
});

test('the manifest describes speakers, and the finalize job was queued', async () => {
  // Handed over: the workers may already be at it.
  expect(['finalizing', 'complete']).toContain(manifest.status);
  expect(manifest.hls.ended).toBe(true);
  const byId = Object.fromEntries(manifest.speakers.map((s) => [s.identity, s]));
  // cat joined about 4 s into the script, after ann and ben.
  expect(byId.cat.joinedMs).toBeGreaterThan(byId.ann.joinedMs + 3_000);
  for (const s of manifest.speakers) {
    const own = bursts.filter((b) => b.speaker === s.identity && !b.muted);
    const firstWant = expectedMs(own[0]) + latencyMs;
    const lastWant = expectedMs(own[own.length - 1]) + latencyMs + 300;
    expect(Math.abs(s.firstAudioMs! - firstWant)).toBeLessThan(150);
    expect(Math.abs(s.lastAudioMs! - lastWant)).toBeLessThan(150);
  }
  const connection = new IORedis(env.REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUES.finalize, { connection, prefix: env.QUEUE_PREFIX });
  const job = await queue.getJob(finalizeJobId(manifest.recordingId));
  await queue.close();
  connection.disconnect();
  expect(job?.data).toEqual({ room, recordingId: manifest.recordingId, manifestKey: prefix + rel.manifest });
});

test('segments were readable in S3 within 1 s of closing', () => {
  // Deltas over this recording: the process is shared with other tests (one stops S3 on purpose).
  const d = (k: string) => uploadAfter[k] - (uploadBefore[k] ?? 0);
  console.log(`segments uploaded: ${d('count')}; within 0.1 s: ${d('0.1')}, within 0.25 s: ${d('0.25')}, within 1 s: ${d('1')}`);
  expect(d('count')).toBeGreaterThanOrEqual(manifest.hls.segments);
  expect(d('1')).toBe(d('count'));
});
