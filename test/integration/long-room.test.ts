import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { dispose } from '@livekit/rtc-node';
import { Parser } from 'm3u8-parser';
import { recordingPrefix, rel } from '../../src/contracts/layout';
import type { Manifest } from '../../src/contracts/manifest';
import { startDaemon, stopDaemon } from '../../src/stack/daemon';
import { stackDaemons } from '../../src/stack/stack';
import { decode, findEnd, findOnset } from '../support/audio';
import { decodeVod } from '../support/beeps';
import { ARTIFACTS, testAppEnv, testSettings } from '../support/env';
import { waitForIdleWorkers } from '../support/idle';
import { waitForManifest } from '../support/manifest';
import { RoomcastProcess } from '../support/roomcast-process';
import { livekitToken } from '../support/tokens';
import { metricValue } from '../support/metrics';
import { download, exists, getText, missing, testS3 } from '../support/s3';
import { ClickErrors, driftPerHour, minuteMedians, summarize } from '../support/clicks';
import { Burst, runScenario, ScenarioResult, ScenarioSpeaker, sleep } from '../support/scenario';

/**
 * A long room that survives its infrastructure: two bots click every 10 s (Opus DTX between the
 * clicks, one reconnect each), S3 is stopped for 60 s and Redis is restarted under it. Every click
 * must be in the HLS mix and in its speaker's file at its place, as late in the room as early —
 * no drift, no gap, nothing lost, one recording (bounds and why: checkClicks).
 *
 * CI runs 10 minutes; `LONG_ROOM_MINUTES=60 npx jest test/integration/long-room.test.ts` is the
 * hour (see README, Tests).
 */
const MINUTES = Number(process.env.LONG_ROOM_MINUTES ?? 10);
const END_MS = MINUTES * 60_000;
// Deployed as in production (docker-compose.yml): the ingest in its own process, apart from the
// workers, whose after-room and live jobs would otherwise share its event loop and CPU; its own
// queue prefix, so the suite's all-roles process does not take the room.
const shift = Number(testAppEnv().API_PORT) - 18080;
const API_PORT = String(18098 + shift);
const env: Record<string, string> = { ...testAppEnv(), QUEUE_PREFIX: `${testAppEnv().QUEUE_PREFIX}-long`, API_PORT, PUBLIC_BASE_URL: `http://127.0.0.1:${API_PORT}` };
const ingest = new RoomcastProcess('long-api-ingest', env, ['api', 'ingest']);
const workers = new RoomcastProcess('long-workers', env, ['workers']);
const { s3, bucket } = testS3(env);
const daemons = stackDaemons(testSettings());
const s3d = daemons.find((d) => d.name === 's3')!;
const redisd = daemons.find((d) => d.name === 'redis')!;

const S3_DOWN_AT = 90_000;
const S3_DOWN_FOR = 60_000;
const REDIS_DOWN_AT = Math.max(Math.round(END_MS * 0.35), S3_DOWN_AT + S3_DOWN_FOR + 30_000);
const REDIS_DOWN_FOR = 8_000;
const ANN_AWAY: [number, number] = [Math.round(END_MS * 0.55), Math.round(END_MS * 0.55) + 3_000];
const BEN_AWAY: [number, number] = [Math.round(END_MS * 0.8), Math.round(END_MS * 0.8) + 3_000];

const speakers: ScenarioSpeaker[] = [
  { identity: 'ann', freq: 1000, presence: [[0, ANN_AWAY[0]], [ANN_AWAY[1], END_MS]] },
  { identity: 'ben', freq: 1500, presence: [[0, BEN_AWAY[0]], [BEN_AWAY[1], END_MS]] },
];
const away = (s: ScenarioSpeaker, t: number) => !s.presence.some(([a, b]) => t >= a + 1_000 && t + 100 <= b);
const clicks: Burst[] = speakers.flatMap((s, i) =>
  Array.from({ length: Math.floor((END_MS - 2_000) / 10_000) }, (_, k) => 2_000 + i * 5_000 + k * 10_000)
    .filter((t) => t < END_MS - 1_000 && !away(s, t))
    .map((atMs) => ({ speaker: s.identity, freq: s.freq, atMs, durMs: 50, dbfs: -12 })),
);

const room = `long-${Date.now()}`;
let result: ScenarioResult;
let manifest: Manifest;
let prefix: string;
const liveProblems: string[] = [];
let spoolPeak = 0;
let resumesBefore = 0;
const outage = { s3: [0, 0], redis: [0, 0] };
const stalls: string[] = [];

beforeAll(async () => {
  await waitForIdleWorkers(testAppEnv());
  await ingest.start();
  await workers.start();
  // The bots run in this process: how late its event loop ran explains a bot that lagged.
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  // When it stalled, too: a stall of the bots' process can shift a speaker's audio at the receiver.
  const roomStart = Date.now();
  let lastTick = Date.now();
  const stallWatch = setInterval(() => {
    const now = Date.now();
    if (now - lastTick > 250) stalls.push(`${((lastTick - roomStart) / 60_000).toFixed(2)} min: ${now - lastTick} ms`);
    lastTick = now;
  }, 50);
  resumesBefore = await metricValue(env, 'roomcast_recordings_resumed_total');
  result = await runScenario({
    env,
    room,
    speakers,
    bursts: clicks,
    events: [],
    endMs: END_MS,
    dtx: true,
    metadata: JSON.stringify({ roomcast: { record: false } }),
    start: async () => {
      const res = await fetch(`${env.PUBLIC_BASE_URL}/v1/rooms/${room}/recording`, { method: 'POST', headers: { Authorization: `Bearer ${await livekitToken(env, room, { roomRecord: true })}` } });
      if (res.status !== 202) throw new Error(`could not start the recording: ${res.status} ${await res.text()}`);
    },
    during: async (stopped) => {
      const started = Date.now();
      const at = (ms: number) => sleep(started + ms - Date.now());
      const watch = watchLive(stopped);
      /** Stops a stack service for `forMs` from `atMs` into the room; records when it was away. */
      const takeDown = async (d: typeof s3d, atMs: number, forMs: number, span: number[]) => {
        await at(atMs);
        span[0] = Date.now();
        await stopDaemon(d);
        await sleep(span[0] + forMs - Date.now());
        await startDaemon(d);
        span[1] = Date.now();
      };
      await takeDown(s3d, S3_DOWN_AT, S3_DOWN_FOR, outage.s3);
      await takeDown(redisd, REDIS_DOWN_AT, REDIS_DOWN_FOR, outage.redis);
      await watch;
    },
  });
  loop.disable();
  clearInterval(stallWatch);
  console.log(`test process event loop delay during the room: p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, max ${(loop.max / 1e6).toFixed(1)} ms; stalls over 250 ms (from the room's start): ${stalls.join(', ') || 'none'}`);
  prefix = recordingPrefix(room, result.active.recordingId);
  // Finalize is seconds when the live archive kept up; when the live archive is abandoned (its
  // loudness estimate missed the target, as in one hour run) finalize rebuilds the files from the
  // chunks: ~135 s for an hour on an idle machine (README, Benchmarks).
  manifest = await waitForManifest(s3, bucket, prefix, (m) => m.status === 'complete', Math.max(180_000, MINUTES * 6_000));
  console.log(`S3 down ${outage.s3[1] - outage.s3[0]} ms, Redis down ${outage.redis[1] - outage.redis[0]} ms, spool peak ${spoolPeak} bytes; after the room: ${JSON.stringify(manifest.processing)}`);
}, END_MS + 120_000 + Math.max(180_000, MINUTES * 6_000));

afterAll(async () => {
  await ingest.stop();
  await workers.stop();
  s3.destroy();
  await dispose();
});

/** A listener's view plus the operator's: the live playlist only lists segments in S3; the spool's size. */
async function watchLive(stopped: () => boolean): Promise<void> {
  while (!stopped()) {
    spoolPeak = Math.max(spoolPeak, await metricValue(env, 'roomcast_spool_bytes').catch(() => 0));
    const pfx = recordingPrefix(room, await activeId());
    const text = await getText(s3, bucket, pfx + rel.livePlaylist).catch(() => null);
    if (text) {
      const p = new Parser();
      p.push(text);
      p.end();
      for (const seg of p.manifest.segments as Array<{ uri: string }>) {
        const key = pfx + 'hls/' + seg.uri;
        // A HEAD that fails because S3 is down proves nothing either way; only a clear 404 counts.
        if (await missing(s3, bucket, key).catch(() => false)) liveProblems.push(seg.uri);
      }
    }
    await sleep(1_000);
  }
}

let recordingId: string | undefined;
async function activeId(): Promise<string> {
  if (recordingId) return recordingId;
  const IORedis = (await import('ioredis')).default;
  const redis = new IORedis(env.REDIS_URL);
  const { Control } = await import('../../src/shared/control');
  recordingId = (await new Control(redis, env.QUEUE_PREFIX).getActive(room))?.recordingId;
  redis.disconnect();
  if (!recordingId) throw new Error('no active recording');
  return recordingId;
}

const expectedMs = (b: Burst) => result.epochMs + b.atMs - Date.parse(manifest.startedAt);

/**
 * Where each click of one speaker sits in `audio` against where it belongs, less their path's fixed
 * delay (median of the first minute). Placed by its end (end − length): after a DTX silence the
 * receiver's jitter buffer sometimes conceals the first 20 ms Opus frame of a click, which moves
 * the onset but not the click; such clipped onsets are counted apart.
 */
function clickErrors(audio: Float32Array, own: Burst[]): ClickErrors {
  const raw = own.map((b) => {
    const want = expectedMs(b);
    const end = findEnd(audio, b.freq, want - 300, want + 300);
    const onset = findOnset(audio, b.freq, want - 300, want + 300);
    const at = end === null ? null : end - b.durMs;
    return { atMs: b.atMs, err: at === null ? null : at - want, clipped: at !== null && onset !== null && onset - at > 12 };
  });
  const first = raw.filter((r) => r.atMs < 60_000 && r.err !== null).map((r) => r.err!).sort((a, b) => a - b);
  const base = first[Math.floor(first.length / 2)] ?? 0;
  return raw.map((r) => ({ ...r, err: r.err === null ? null : r.err - base }));
}

/** Prints (and saves) one speaker's figures; the assertions come after every speaker is reported. */
function reportClicks(label: string, errs: ClickErrors): ClickErrors {
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(path.join(ARTIFACTS, `long-room-${label}.json`), JSON.stringify(errs));
  const s = summarize(errs);
  console.log(`${label}: ${s.found}/${s.clicks} clicks, ${s.within20} within ±20 ms, |error| p50 ${s.p50} / p99 ${s.p99} / max ${s.max.toFixed(1)} ms; linear drift ${s.driftPerHour.toFixed(1)} ms per hour; minute medians ${minuteMedians(errs, END_MS).map((m) => m.toFixed(0)).join(' ')} ms; missing ${errs.filter((e) => e.err === null).map((e) => e.atMs).join(',') || 'none'}; onset clipped by a concealed first frame: ${s.clipped}`);
  return errs;
}

/**
 * Every click present and at its place, at the end as at the start. The issue's target is ±20 ms.
 * With the jitter-buffer delay compensation the 10-minute room met it in three of four runs (max
 * 2–14 ms; once a re-published track's new anchor sat 20 ms early, max 21 ms), the hour nearly: 356 of 358 clicks for one speaker, all 359 for the other, drift 9.3 and
 * −14.2 ms per hour. What still moves a click: a sudden jump of the receiving jitter buffer's delay
 * (twice in that hour, to 80 ms: the click at that moment was 47–55 ms late; the compensation only
 * sees the change after it, and the next clicks were back within ±7 ms), and steps of 5–15 ms a few
 * times an hour that the stats do not show. The bounds are that envelope with a margin — each click
 * ±30 ms (CLICK_MS), each minute's median and the linear drift over the room ±35 ms — so a real drift (a
 * sample-count or clock error: 0.1 % is 600 ms over 10 minutes) fails at once; the one documented
 * exception (JUMP_MS) is allowed as seen, and no more often. Figures in the log and from
 * `bench/long-room.ts`.
 */
/**
 * Each click: the 10-minute room's worst was 21 ms (max 2–14 ms otherwise; 14 ms for ann and 11 ms
 * for ben, mix and files alike, in the run of 2026-11-30), the hour's p99 13 ms; ±30 ms is ~1.5× the
 * worst, for a slow 2-core CI machine, and half the ±60 ms this test allowed before.
 */
const CLICK_MS = 30;
/**
 * The documented exception: a sudden jitter-buffer delay jump makes one click late by up to 55 ms
 * (README, Benchmarks: 47–55 ms, twice in the hour, the next click back within ±7 ms). Such a click
 * may be up to JUMP_MS late if it stands alone — its neighbours within ±CLICK_MS, the next one back
 * within the ±20 ms target — and at most once per speaker per 30 minutes of room (once in the
 * 10-minute room, twice in the hour, as measured).
 */
const JUMP_MS = 60;
const JUMPS_ALLOWED = Math.ceil(MINUTES / 30);

function checkClicks(label: string, errs: ClickErrors): void {
  const missingClicks = errs.filter((e) => e.err === null).map((e) => e.atMs);
  const within = (e: ClickErrors[number] | undefined, ms: number) => !!e && e.err !== null && Math.abs(e.err) <= ms;
  const jumps = errs.filter((e, i) => e.err !== null && e.err > CLICK_MS && e.err <= JUMP_MS && within(errs[i + 1], 20) && (i === 0 || within(errs[i - 1], CLICK_MS)));
  const misplaced = errs.filter((e) => e.err !== null && Math.abs(e.err) > CLICK_MS && !jumps.includes(e));
  if (jumps.length) console.log(`${label}: late clicks allowed as a jitter-buffer jump (at most ${JUMPS_ALLOWED}): ${jumps.map((e) => `${e.atMs} ms: ${e.err!.toFixed(1)} ms`).join(', ')}`);
  expect({ label, missingClicks }).toEqual({ label, missingClicks: [] });
  expect({ label, beyondCLICK_MS: misplaced.map((e) => `${e.atMs} ms: ${e.err!.toFixed(1)} ms`) }).toEqual({ label, beyondCLICK_MS: [] });
  expect(jumps.length).toBeLessThanOrEqual(JUMPS_ALLOWED);
  const medians = minuteMedians(errs, END_MS);
  for (const m of medians) expect(Math.abs(m - medians[0])).toBeLessThanOrEqual(35);
  expect(Math.abs((driftPerHour(errs) * END_MS) / 3_600_000)).toBeLessThanOrEqual(35);
}

test('one recording, no gap: Redis restarting did not hand the room over', async () => {
  expect(manifest.gaps).toEqual([]);
  expect(await metricValue(env, 'roomcast_recordings_resumed_total')).toBe(resumesBefore);
  const log = readFileSync(path.join(ARTIFACTS, 'long-api-ingest.log'), 'utf8');
  const followed = log.split('\n').filter((l) => l.includes(result.active.recordingId) && l.includes('following it, not resuming')).length;
  console.log(`record job came back during the Redis restart and followed the live recorder: ${followed} time(s)`);
});

test('S3 down 60 s: every segment arrives, in order; the live playlist never listed a missing one; the spool grew and drained', async () => {
  expect(outage.s3[1] - outage.s3[0]).toBeGreaterThanOrEqual(S3_DOWN_FOR);
  expect(liveProblems).toEqual([]);
  const { mix, segments, discontinuities, uris } = await decodeVod(s3, bucket, prefix);
  expect(discontinuities).toBe(0);
  expect(segments).toBe(manifest.hls.segments);
  expect(uris).toEqual(uris.map((_, i) => rel.hlsSegment(i).slice('hls/'.length)));
  expect(Math.abs(mix.length / 48 - manifest.durationMs)).toBeLessThanOrEqual(100);
  // Spooled while S3 was away, reported in /metrics, bounded by what 60 s of this room makes (~0.4 MB/min).
  expect(spoolPeak).toBeGreaterThan(100_000);
  expect(spoolPeak).toBeLessThan(3_000_000);
  expect(await metricValue(env, 'roomcast_spool_bytes')).toBe(0);
  // Each speaker's own path (network, jitter buffer) sets their fixed delay: measured per speaker.
  // Every speaker reported before any assertion stops the test.
  const all = speakers.map((sp) => reportClicks(`mix-${sp.identity}`, clickErrors(mix, clicks.filter((c) => c.speaker === sp.identity))));
  all.forEach((errs, i) => checkClicks(`mix-${speakers[i].identity}`, errs));
});

test('each speaker file: every click at its place, no drift from the first minute to the last', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-long-'));
  const all: Array<[string, ClickErrors]> = [];
  const lengths: number[] = [];
  for (const sp of manifest.speakers) {
    const file = path.join(dir, `${sp.key}.opus`);
    await download(s3, bucket, prefix + rel.speakerFile(sp.key), file);
    const audio = decode(file);
    lengths.push(audio.length / 48);
    all.push([sp.identity, reportClicks(sp.identity, clickErrors(audio, clicks.filter((c) => c.speaker === sp.identity)))]);
  }
  for (const ms of lengths) expect(Math.abs(ms - manifest.durationMs)).toBeLessThanOrEqual(100);
  all.forEach(([label, errs]) => checkClicks(label, errs));
  expect(manifest.speakers.map((s) => s.identity).sort()).toEqual(['ann', 'ben']);
  expect(await exists(s3, bucket, prefix + rel.replayPage)).toBe(true);
});
