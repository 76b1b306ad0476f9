import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dispose } from '@livekit/rtc-node';
import * as HLS from 'hls-parser';
import IORedis from 'ioredis';
import { edgeStreamKey } from '../../src/contracts/live-edge';
import { PORT_SHIFT, testAppEnv } from '../support/env';
import { RoomcastProcess } from '../support/roomcast-process';
import { runScenario, sleep } from '../support/scenario';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../support/live-listener';

/**
 * The live edge's LL-HLS on the real stack (LiveKit, a bot, the recorder, Redis, two api processes):
 * the playlist is valid LL-HLS, a blocked reload is answered within about a part of the part
 * appearing in Redis, two api processes answer the same bytes, delta updates skip, bad requests
 * get a 400. Looser than bench/listening.ts, which measures the same over minutes.
 */
const env = testAppEnv();
const api1 = env.PUBLIC_BASE_URL;
const port2 = 18102 + PORT_SHIFT;
const api2 = `http://127.0.0.1:${port2}`;
const second = new RoomcastProcess('ll-api-2', { ...env, API_PORT: String(port2), PUBLIC_BASE_URL: api2 }, ['api']);
const redis = new IORedis(env.REDIS_URL);
const room = `ll-${Date.now()}`;

interface Measured {
  playlist: HLS.types.MediaPlaylist;
  text: string;
  blocked: Array<{ point: string; afterPartMs: number; same: boolean }>;
  delta: { text: string; full: HLS.types.MediaPlaylist };
  partBytes: Buffer;
  segment: { duration: number; decodedSeconds: number };
  errors: Record<string, number>;
  after: string;
  rewind: { playing: number; back: number; shown: string; backAt: number; live: number };
}

/** The live page in Chromium: it plays at the edge, rewinds 8 s on request, shows it, and goes back to live. */
async function rewind(): Promise<Measured['rewind']> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    await page.goto(`${api1}/v1/rooms/${room}/live`);
    const behind = () => page.evaluate(() => (window as any).roomcastLive.behindLiveSeconds() as number);
    await page.waitForFunction(() => { const a = document.getElementById('audio') as HTMLAudioElement; return a.currentTime > 1 && !a.paused; }, null, { timeout: 10_000 });
    const playing = await behind();
    const before = await page.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).currentTime);
    await page.evaluate(() => (window as any).roomcastLive.seekBack(8));
    await sleep(1500);
    const back = await behind();
    const shown = await page.evaluate(() => document.getElementById('behind')!.textContent ?? '');
    const backAt = before - (await page.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).currentTime));
    await page.evaluate(() => (window as any).roomcastLive.goLive());
    await sleep(1500);
    return { playing, back, shown, backAt, live: await behind() };
  } finally {
    await browser.close();
  }
}
let got: Measured;

// Strict: a playlist hls-parser finds invalid (parts too far from the end, a bad tag) fails the test.
HLS.setOptions({ strictMode: true });
const parse = (text: string) => HLS.parse(text) as HLS.types.MediaPlaylist;
/** Where an LL playlist ends: its hinted part's segment and index. */
function hintOf(p: HLS.types.MediaPlaylist): { msn: number; part: number; uri: string } {
  const last = p.segments[p.segments.length - 1];
  const hint = last.parts.find((x) => x.hint)!;
  const m = /seg_(\d+)\.p(\d+)\.m4s/.exec(hint.uri)!;
  return { msn: Number(m[1]), part: Number(m[2]), uri: hint.uri };
}

/** When the part (msn, part) was added to the recording's edge stream (Redis's own clock, ms). */
async function partAddedAt(recordingId: string, msn: number, part: number): Promise<number> {
  const entries = await redis.xrange(edgeStreamKey(env.QUEUE_PREFIX, recordingId), '-', '+');
  for (const [id, fields] of entries) {
    const m = fields[fields.indexOf('m') + 1];
    if (m.includes('"t":"part"') && m.includes(`"msn":${msn},`) && m.includes(`"part":${part},`)) return Number(id.split('-')[0]);
  }
  throw new Error(`part ${msn}.${part} is not in the edge stream`);
}

beforeAll(async () => {
  await second.start();
  await runScenario({
    env,
    room,
    speakers: [{ identity: 'ann', freq: 1000, presence: [[0, 30_000]] }],
    bursts: Array.from({ length: 14 }, (_, k) => ({ speaker: 'ann', freq: 1000, atMs: 1_000 + 2_000 * k, durMs: 300, dbfs: -10 })),
    events: [],
    endMs: 30_000,
    during: async (_stopped, epochMs) => {
      const status = (await (await fetch(`${api1}/v1/rooms/${room}/live/status`)).json()) as { recordingId: string; playlist: string };
      const base = `/v1/rooms/${room}/recordings/${status.recordingId}/hls`;
      await sleep(epochMs + 15_000 - Date.now()); // more than the skip boundary (12 s) of stream
      const text = await (await fetch(`${api1}${base}/index.m3u8`)).text();
      const playlist = parse(text);
      // Blocking reloads, part after part, on both api processes at once.
      const blocked: Measured['blocked'] = [];
      let next = hintOf(playlist);
      for (let i = 0; i < 8; i++) {
        const q = `_HLS_msn=${next.msn}&_HLS_part=${next.part}`;
        const [a, b] = await Promise.all([api1, api2].map(async (host) => {
          const res = await fetch(`${host}${base}/index.m3u8?${q}`);
          return { at: Date.now(), body: await res.text(), status: res.status };
        }));
        expect([a.status, b.status]).toEqual([200, 200]);
        const added = await partAddedAt(status.recordingId, next.msn, next.part);
        blocked.push({ point: `${next.msn}.${next.part}`, afterPartMs: Math.max(a.at, b.at) - added, same: a.body === b.body });
        const p = parse(a.body);
        next = hintOf(p);
      }
      const deltaText = await (await fetch(`${api1}${base}/index.m3u8?_HLS_msn=${next.msn}&_HLS_part=${next.part}&_HLS_skip=YES`)).text();
      const fullText = await (await fetch(`${api1}${base}/index.m3u8?_HLS_msn=${next.msn}&_HLS_part=${next.part}`)).text();
      const last = parse(fullText);
      const lastPart = last.segments.flatMap((s) => s.parts).filter((x) => !x.hint).at(-1)!;
      const partBytes = Buffer.from(await (await fetch(`${api1}${base}/${lastPart.uri}`)).arrayBuffer());
      // A whole segment at the edge, with its init segment, decodes to its EXTINF.
      const whole = last.segments.filter((s) => s.uri).at(-1)!;
      const dir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-ll-'));
      let decodedSeconds = 0;
      try {
        writeFileSync(path.join(dir, 'init.mp4'), Buffer.from(await (await fetch(`${api1}${base}/init.mp4`)).arrayBuffer()));
        writeFileSync(path.join(dir, 'seg.m4s'), Buffer.from(await (await fetch(`${api1}${base}/${whole.uri}`)).arrayBuffer()));
        writeFileSync(path.join(dir, 'x.m3u8'), `#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:${whole.duration},\nseg.m4s\n#EXT-X-ENDLIST\n`);
        const pcm = execFileSync('ffmpeg', ['-loglevel', 'error', '-allowed_extensions', 'ALL', '-i', path.join(dir, 'x.m3u8'), '-f', 's16le', '-ac', '1', '-ar', '48000', '-'], { maxBuffer: 1 << 26 });
        decodedSeconds = pcm.length / 2 / 48_000;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const errors: Record<string, number> = {};
      for (const q of ['_HLS_part=1', '_HLS_msn=999999', '_HLS_msn=abc', '_HLS_msn=1&_HLS_part=-1', '_HLS_skip=maybe']) errors[q] = (await fetch(`${api1}${base}/index.m3u8?${q}`)).status;
      errors['part far ahead'] = (await fetch(`${api1}${base}/seg_999999.p0.m4s`)).status;
      got = { playlist, text, blocked, delta: { text: deltaText, full: last }, partBytes, segment: { duration: whole.duration, decodedSeconds }, errors, after: '', rewind: await rewind() };
    },
  });
  // After the room: S3's VOD playlist, no parts.
  const rec = (await (await fetch(`${api1}/v1/rooms/${room}/recordings`)).json()) as { recordings: Array<{ recordingId: string }> };
  for (let i = 0; i < 60; i++) {
    const r = await fetch(`${api1}/v1/rooms/${room}/recordings/${rec.recordings[0].recordingId}/hls/index.m3u8`);
    got.after = await r.text();
    if (got.after.includes('#EXT-X-ENDLIST') && !got.after.includes('#EXT-X-PART:')) break;
    await sleep(500);
  }
}, 120_000);

afterAll(async () => {
  await second.stop();
  redis.disconnect();
  await dispose();
});

test('the live playlist is LL-HLS: parts sum to their segments, within the part target, every one independent; the hint is the next part', () => {
  const p = got.playlist;
  expect(got.text).toContain('#EXT-X-VERSION:9');
  expect(got.text).toMatch(/#EXT-X-MAP:URI="init\.mp4"/);
  expect(p.playlistType).toBe('EVENT');
  const target = p.partTargetDuration!;
  // 10 AAC frames of 1024 samples at 48 kHz.
  expect(target).toBeCloseTo(0.21333, 4);
  expect(p.lowLatencyCompatibility!.canBlockReload).toBe(true);
  expect(p.lowLatencyCompatibility!.partHoldBack).toBeGreaterThanOrEqual(3 * target - 1e-6);
  expect(p.lowLatencyCompatibility!.canSkipUntil).toBeGreaterThanOrEqual(6 * p.targetDuration);
  const whole = p.segments.filter((s) => s.uri);
  expect(whole.length).toBeGreaterThanOrEqual(6);
  whole.forEach((s, i) => {
    expect(s.programDateTime).toBeDefined();
    expect(s.duration).toBeLessThanOrEqual(p.targetDuration);
    if (i > 0) expect(s.programDateTime!.getTime() - whole[i - 1].programDateTime!.getTime()).toBeCloseTo(whole[i - 1].duration * 1000, 0);
  });
  const withParts = whole.filter((s) => s.parts.length);
  expect(withParts.length).toBeGreaterThanOrEqual(1);
  for (const s of withParts) {
    expect(s.parts.reduce((a, x) => a + x.duration!, 0)).toBeCloseTo(s.duration, 3);
    for (const x of s.parts) {
      expect(x.duration!).toBeLessThanOrEqual(target + 1e-6);
      expect(x.independent).toBe(true);
    }
  }
  // The segment being cut: its parts so far, then the hint at the next one.
  const open = p.segments[p.segments.length - 1];
  expect(open.uri).toBeFalsy();
  const hint = hintOf(p);
  const done = open.parts.filter((x) => !x.hint).length;
  expect(hint.part).toBe(done);
  expect(hint.msn).toBe(whole[whole.length - 1].mediaSequenceNumber + 1);
});

test('a blocked reload is answered within ~a part target of the part reaching Redis, the same bytes from two api processes', () => {
  console.log(`blocked reloads (ms after the part reached Redis): ${got.blocked.map((b) => `${b.point}: ${b.afterPartMs}${b.same ? '' : ' (differ!)'}`).join(', ')}`);
  for (const b of got.blocked) {
    expect(b.same).toBe(true);
    expect(b.afterPartMs).toBeGreaterThanOrEqual(0);
    // The answer waits for nothing but the part: ~5 ms here; 250 ms is one part target and then some
    // for a busy 2-core machine (bench/listening.ts gives the p99 under load).
    expect(b.afterPartMs).toBeLessThanOrEqual(250);
  }
});

test('a delta update skips what is past the skip boundary and lists the rest as the full playlist does', () => {
  const delta = parse(got.delta.text);
  const full = got.delta.full;
  expect(delta.skip).toBeGreaterThan(0);
  expect(got.delta.text.length).toBeLessThan(HLS.stringify(full).length);
  expect(delta.skip + delta.segments.length).toBe(full.segments.length);
  // What it lists is at least the skip boundary from the end.
  const kept = delta.segments.filter((s) => s.uri).reduce((a, s) => a + s.duration, 0);
  expect(kept).toBeGreaterThanOrEqual(full.lowLatencyCompatibility!.canSkipUntil - 2);
  expect(delta.segments.map((s) => s.uri)).toEqual(full.segments.slice(delta.skip).map((s) => s.uri));
});

test('parts and segments at the edge are CMAF that decodes', () => {
  expect(got.partBytes.toString('latin1', 4, 8)).toBe('moof');
  expect(Math.abs(got.segment.decodedSeconds - got.segment.duration)).toBeLessThanOrEqual(1024 / 48_000 + 1e-6);
});

test('bad LL-HLS requests get a 400, a part that will not exist a 404; after the room S3 serves the VOD playlist', () => {
  expect(got.errors).toEqual({ '_HLS_part=1': 400, '_HLS_msn=999999': 400, '_HLS_msn=abc': 400, '_HLS_msn=1&_HLS_part=-1': 400, '_HLS_skip=maybe': 400, 'part far ahead': 404 });
  expect(got.after).toContain('#EXT-X-ENDLIST');
  expect(got.after).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
  expect(got.after).not.toContain('#EXT-X-PART:');
});

test('live rewind: the live page goes 8 s back on request, says how far behind live it is, and back to live', () => {
  const r = got.rewind;
  console.log(`rewind: ${JSON.stringify(r)}`);
  expect(r.playing).toBeLessThan(1.5);
  expect(r.back).toBeGreaterThan(6);
  expect(r.back).toBeLessThan(10.5);
  expect(r.backAt).toBeGreaterThan(5);
  expect(r.shown).toMatch(/^\d+ s behind live$/);
  expect(r.live).toBeLessThan(1.5);
});
