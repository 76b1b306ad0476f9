import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dispose } from '@livekit/rtc-node';
import IORedis from 'ioredis';
import { recordingPrefix, safeKey } from '../../src/contracts/layout';
import type { Manifest } from '../../src/contracts/manifest';
import { Control } from '../../src/shared/control';
import { roomService } from '../../src/shared/livekit';
import { BEEP_HZ, beeper, beeps, decodeVod, missingBeeps } from '../support/beeps';
import { maxToneAmplitude } from '../support/audio';
import { ARTIFACTS, testAppEnv } from '../support/env';
import { waitForManifest } from '../support/manifest';
import { RoomcastProcess } from '../support/roomcast-process';
import { testS3 } from '../support/s3';
import { sleep } from '../support/scenario';
import { edgeStreamKey } from '../../src/contracts/live-edge';
import type { SpeakerBot } from '../../src/demo/speaker-bot';
import { livekitToken } from '../support/tokens';

/**
 * Ingest processes dying under a live room (SIGKILL at different moments) and a rolling restart
 * (SIGTERM): another process resumes the same recording on the same timeline, the HLS goes on after
 * a discontinuity, the gap is in the manifest, and no audio outside the gaps is lost.
 */
const env = testAppEnv();
const rooms = roomService(env as never);
const { s3, bucket } = testS3(env);
const redis = new IORedis(env.REDIS_URL);
afterAll(async () => {
  s3.destroy();
  redis.disconnect();
  await dispose();
});

/** Two ingest processes of one deployment on one machine (shared spool folder), and an api. */
function deployment(tag: string) {
  const spool = mkdtempSync(path.join(os.tmpdir(), `roomcast-${tag}-`));
  const common = { ...env, QUEUE_PREFIX: `${env.QUEUE_PREFIX}-${tag}`, SPOOL_DIR: spool };
  const shift = Number(env.API_PORT) - 18080; // ROOMCAST_TEST_PORT_SHIFT: a second test stack runs beside this one
  const base = `http://127.0.0.1:${18096 + shift}`;
  const api = new RoomcastProcess(`${tag}-api`, { ...common, API_PORT: String(18096 + shift), PUBLIC_BASE_URL: base }, ['api', 'workers']);
  let n = 0;
  const ingest = () => new RoomcastProcess(`${tag}-ingest-${++n}`, { ...common, API_PORT: String(18097 + shift) }, ['ingest']);
  return { spool, api, ingest, control: new Control(redis, common.QUEUE_PREFIX), base };
}

async function startRecording(d: ReturnType<typeof deployment>, room: string): Promise<{ recordingId: string; prefix: string }> {
  await rooms.createRoom({ name: room, emptyTimeout: 120, metadata: JSON.stringify({ roomcast: { record: false } }) });
  const res = await fetch(`${d.base}/v1/rooms/${room}/recording`, { method: 'POST', headers: { Authorization: `Bearer ${await livekitToken(env, room, { roomRecord: true })}` } });
  expect(res.status).toBe(202);
  const { recordingId } = (await res.json()) as { recordingId: string };
  return { recordingId, prefix: recordingPrefix(room, recordingId) };
}

/** Waits until a different ingest than `owner` records the room; returns the new owner and how long it took. */
async function resumed(d: ReturnType<typeof deployment>, room: string, owner: string | undefined, since: number): Promise<{ owner: string; ms: number }> {
  for (;;) {
    const a = await d.control.getActive(room);
    if (a?.owner && a.owner !== owner && a.joinedAt) return { owner: a.owner, ms: Date.now() - since };
    if (Date.now() - since > 30_000) throw new Error('nobody resumed the recording within 30 s');
    await sleep(100);
  }
}

/** What the room does besides the beeper: a second speaker over it for a while, a host mute. */
interface Extras {
  overlap?: [number, number];
  mute?: [number, number];
  /** Hold an LL-HLS blocking reload across this kill (index into atMs). */
  blockAcross?: number;
}

/** A blocking reload for a part the dying recorder will not cut (~1 s ahead of the hint), sent just before a kill. */
async function holdAcross(d: ReturnType<typeof deployment>, room: string, recordingId: string) {
  const url = `${d.base}/v1/rooms/${room}/recordings/${recordingId}/hls/index.m3u8`;
  const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg_(\d+)\.p(\d+)\.m4s"/.exec(await (await fetch(url)).text());
  if (!hint) throw new Error('the live playlist has no preload hint');
  const sentAt = Date.now();
  const answer = fetch(`${url}?_HLS_msn=${hint[1]}&_HLS_part=${Number(hint[2]) + 4}`).then(async (r) => ({ status: r.status, body: await r.text(), at: Date.now(), sentAt }));
  return { answer }; // not awaited here: it is answered after the kill
}

/** When the last encoder run of a recording cut its first part (Redis's clock). */
async function firstPartOfLastRun(prefix: string, recordingId: string): Promise<number> {
  const entries = (await redis.xrange(edgeStreamKey(prefix, recordingId), '-', '+')).map(([id, f]) => ({ id, meta: f[f.indexOf('m') + 1] }));
  let lastRun = -1;
  entries.forEach((e, i) => e.meta.includes('"t":"run"') && (lastRun = i));
  const part = entries.slice(Math.max(0, lastRun)).find((e) => e.meta.includes('"t":"part"'));
  if (!part) throw new Error('the last run has no part');
  return Number(part.id.split('-')[0]);
}
const CHORUS = { identity: 'chorus', freq: 1300 };

/** The ingests' own account of a recording: each resume, and each track's anchor corrections and late samples. */
function placementLogs(prefix: string): string {
  const id = prefix.split('/')[2];
  return readdirSync(ARTIFACTS)
    .filter((f) => f.endsWith('.log'))
    .flatMap((f) => readFileSync(path.join(ARTIFACTS, f), 'utf8').split('\n').filter((l) => l.includes(id) && /audio track ended|recording resumed/.test(l)).map((l) => `${f}: ${l.slice(0, 600)}`))
    .join('\n');
}

/** Whether a script moment falls in audio a bot never sent (its pump stalled past its lead): nobody could record it. */
const unsent = (bots: SpeakerBot[], t: number) => bots.some((b) => b.skipped.some(([from, to]) => t + 100 > from && t < to));

async function checkRecording(prefix: string, m: Manifest, times: number[], epoch: number, expectedGaps: number, extras: Extras = {}, bots: SpeakerBot[] = []) {
  // One recording: nothing else under the room.
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix.split('/').slice(0, 2).join('/') + '/', Delimiter: '/' }));
  expect((listed.CommonPrefixes ?? []).map((p) => p.Prefix)).toEqual([prefix]);
  expect(m.gaps).toHaveLength(expectedGaps);
  const vod = await decodeVod(s3, bucket, prefix);
  expect(vod.discontinuities).toBe(expectedGaps);
  // Segment names run on: the resumed ones follow the ones before the crash.
  expect(vod.uris).toEqual(vod.uris.map((_, i) => `seg_${String(i).padStart(6, '0')}.m4s`));
  expect(Math.abs(vod.mix.length / 48 - m.durationMs)).toBeLessThanOrEqual(150);
  // A gap ends when the resumed recorder joined; its tracks' audio starts once it has subscribed to
  // them, a few hundred ms later (not measured here; a beep ~0.4 s after a gap's end came out clipped
  // or missing in one full run, 2026-11-30).
  const inGap = (t: number) => m.gaps.some((g) => {
    const at = epoch + t - Date.parse(m.startedAt);
    return at > g.fromMs - 400 && at < g.toMs + 700;
  });
  // No audio outside the gaps may be lost: every beep must be there, at its place. A resumed
  // recorder anchors each speaker afresh from the frames it receives, and that anchor has come out
  // 10–25 ms off the previous recorder's after a kill and up to 141 ms off after a hand-over
  // (a known weakness, see docs/ARCHITECTURE.md), so "at its place" is ±200 ms here (beeps are
  // 500 ms apart: none can be mistaken for another); within one recorder it is ±40 ms.
  const muted = (t: number) => !!extras.mute && t >= extras.mute[0] - 300 && t < extras.mute[1] + 700;
  const offset = epoch - Date.parse(m.startedAt);
  const lost = missingBeeps(vod.mix, times, offset, (t) => inGap(t) || muted(t) || unsent(bots, t), 200);
  const heard = times.filter((t) => !inGap(t) && !muted(t) && !unsent(bots, t)).length;
  console.log(`beeps outside the gaps: ${heard}, missing or misplaced: ${lost.length} ${JSON.stringify(lost)}; bots' pumps lagged up to ${bots.map((b) => (b.maxBehind / 48).toFixed(0)).join(', ')} ms, never sent ${JSON.stringify(bots.flatMap((b) => b.skipped.map(([a, z]) => [Math.round(a), Math.round(z)])))}`);
  if (lost.length) console.log(`where each recorder placed its tracks (ingest logs):\n${placementLogs(prefix)}`);
  expect(heard).toBeGreaterThanOrEqual(12);
  expect(lost).toEqual([]);
  if (extras.overlap) {
    const chorus = beeps(extras.overlap[1], extras.overlap[0]).map((t) => t + 250);
    const kept = chorus.filter((t) => !inGap(t));
    // Its beeps are as loud as the beeper's (~0.25); the beeper's 800 Hz leaks ~0.02 into a 1300 Hz detector.
    const lostChorus = missingBeeps(vod.mix, chorus, offset, inGap, 200, CHORUS.freq, 0.08);
    console.log(`overlapping speaker: ${kept.length} beeps outside the gaps, missing ${JSON.stringify(lostChorus)}`);
    expect(lostChorus).toEqual([]);
  }
  if (extras.mute) {
    // The host's mute holds across the resume: the muted beeps outside the gap stay silent.
    const silent = times.filter((t) => t > extras.mute![0] + 300 && t < extras.mute![1] - 300 && !inGap(t));
    console.log(`muted beeps outside the gap: ${silent.length}`);
    for (const t of silent) expect(maxToneAmplitude(vod.mix, BEEP_HZ, t + offset, t + offset + 100)).toBeLessThan(0.01);
  }
}

/**
 * A room with a beeping bot, recorded by one ingest; at each of `atMs` (script time) a standby
 * ingest is started, then the current one gets `signal` and the standby must take over.
 */
async function replaceIngests(tag: string, signal: NodeJS.Signals, atMs: number[], endMs: number, extras: Extras = {}) {
  const d = deployment(tag);
  const room = `${tag}-${Date.now()}`;
  await d.api.start();
  let current = d.ingest();
  await current.start();
  const all = [current];
  try {
    const { prefix, recordingId } = await startRecording(d, room);
    let owner = (await resumed(d, room, undefined, Date.now())).owner;
    const epoch = Date.now() + 500;
    const times = beeps(endMs);
    const bot = beeper(env, room, epoch, times);
    await bot.join();
    const chorus = extras.overlap && beeper(env, room, epoch, beeps(extras.overlap[1], extras.overlap[0]).map((t) => t + 250), CHORUS);
    await chorus?.join();
    const mute = async (on: boolean) => rooms.mutePublishedTrack(room, 'beeper', bot.trackSid!, on);
    const muting = extras.mute && (async () => {
      await sleep(epoch + extras.mute![0] - Date.now());
      await mute(true);
      await sleep(epoch + extras.mute![1] - Date.now());
      await mute(false);
    })();
    const takeovers: number[] = [];
    const killedAt: number[] = [];
    for (const [i, at] of atMs.entries()) {
      const next = d.ingest();
      await next.start(); // the standby that will take over
      all.push(next);
      // The held reload is sent half a second ahead, so reading the playlist first never delays the kill.
      await sleep(epoch + at - 500 - Date.now());
      const held = extras.blockAcross === i ? await holdAcross(d, room, recordingId) : undefined;
      await sleep(epoch + at - Date.now());
      const t = Date.now();
      killedAt.push(t - epoch);
      await current.stop(signal);
      if (signal === 'SIGTERM') expect(current.exitCode).toBe(0);
      const r = await resumed(d, room, owner, t);
      takeovers.push(r.ms);
      owner = r.owner;
      current = next;
      if (held) {
        // Answered once the resumed recorder cut its first part, not with an error: the playlist goes
        // on after a discontinuity.
        const a = await held.answer;
        const firstPart = await firstPartOfLastRun(`${env.QUEUE_PREFIX}-${tag}`, recordingId);
        console.log(`blocking reload held across the kill: answered ${a.at - a.sentAt} ms after it was sent, ${a.at - firstPart} ms after the new recorder's first part`);
        expect(a.status).toBe(200);
        expect(a.body).toContain('#EXT-X-DISCONTINUITY');
        expect(a.at - firstPart).toBeGreaterThanOrEqual(0);
        expect(a.at - firstPart).toBeLessThanOrEqual(500);
      }
    }
    // Each moment was hit: a late takeover must not push a kill out of its overlap or mute.
    for (const [i, at] of atMs.entries()) expect(killedAt[i] - at).toBeLessThan(300);
    await muting;
    await sleep(epoch + endMs + 500 - Date.now());
    await chorus?.leave();
    await bot.leave();
    await rooms.deleteRoom(room);
    const m = await waitForManifest(s3, bucket, prefix, (x) => x.status !== 'recording', 30_000);
    console.log(`${signal}: taken over after ${takeovers.join(', ')} ms; gaps ${m.gaps.map((g) => `${g.fromMs}–${g.toMs} (${g.toMs - g.fromMs} ms)`).join(', ')}`);
    await checkRecording(prefix, m, times, epoch, atMs.length, extras, [bot, ...(chorus ? [chorus] : [])]);
    // What the stopped processes had spooled was uploaded by the ones after them: no file is left.
    const left = path.join(d.spool, safeKey(room));
    expect(existsSync(left) ? readdirSync(left, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name) : []).toEqual([]);
    return { m, takeovers };
  } finally {
    for (const p of all) await p.stop('SIGKILL');
    await d.api.stop();
  }
}

test('SIGKILL at five moments: another ingest resumes within 8 s, on the same timeline, losing only the gaps', async () => {
  // Just after the recorder joined, mid-speech, while two speak at once, while the beeper is muted
  // by the host, and just before the room ends.
  const { m, takeovers } = await replaceIngests('kill', 'SIGKILL', [1_200, 12_000, 24_000, 36_000, 47_000], 54_000, { overlap: [21_000, 29_000], mute: [33_500, 44_000], blockAcross: 1 });
  // README, Crashes and restarts: in the room again ~4–8 s after a kill (the 3 s job lock lapses,
  // the stalled-job check hands the job out, the new recorder joins). Measured here 3.4–6.5 s
  // (20 kills, four runs, 2026-11-30: ~3.5 s, or ~6 s when the stalled check comes a round later).
  for (const ms of takeovers) expect(ms).toBeLessThanOrEqual(8_000);
  // The gap is that time plus the dead recorder's last unflushed audio: measured 3.8–6.9 s (same
  // runs); README's first segment after the discontinuity is in S3 7.5–7.8 s after a kill (5 rooms).
  // 9 s leaves ~2 s for a slow 2-core CI machine.
  for (const g of m.gaps) expect(g.toMs - g.fromMs).toBeLessThanOrEqual(9_000);
}, 200_000);

test('a rolling restart (SIGTERM each ingest in turn) hands the room over, losing at most the hand-over gaps', async () => {
  const { m, takeovers } = await replaceIngests('roll', 'SIGTERM', [6_000, 13_000], 20_000);
  // Flush, upload, back to the queue, the standby takes it: measured 0.67–0.96 s (8 hand-overs, 2026-11-30).
  for (const ms of takeovers) expect(ms).toBeLessThanOrEqual(2_500);
  // README, Crashes and restarts: a rolling restart costs each room 0.5–2.2 s (the standby's reading
  // back of the last chunks, 0.45–0.86 s, and its join, 0.45–0.84 s, on 2 busy cores; 1.4–2.24 s in
  // full suite runs of 2026-11-30, where Redis has run for a while and no restart grace applies).
  for (const g of m.gaps) expect(g.toMs - g.fromMs).toBeLessThanOrEqual(2_500);
}, 120_000);
