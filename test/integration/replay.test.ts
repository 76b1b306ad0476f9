import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dispose } from '@livekit/rtc-node';
import { chromium } from 'playwright-core';
import { recordingPrefix, rel } from '../../src/contracts/layout';
import { Manifest } from '../../src/contracts/manifest';
import { loadAudio } from '../../src/demo/program';
import { log } from '../../src/shared/log';
import { finalize } from '../../src/workers/finalize';
import { publish } from '../../src/workers/publish';
import type { Transcript } from '../../src/workers/transcribe/formats';
import { OpenAiEngine } from '../../src/workers/transcribe/openai';
import { transcribe } from '../../src/workers/transcribe/transcribe';
import { decode, loudness, xcorrLagMs } from '../support/audio';
import { ARTIFACTS, testAppEnv } from '../support/env';
import { waitForManifest } from '../support/manifest';
import { download, getText, testS3 } from '../support/s3';
import { runScenario, ScenarioResult } from '../support/scenario';
import { livekitToken } from '../support/tokens';
import { wer, words } from '../support/wer';

/**
 * Bots speak the LibriVox clips that Debian's pocketsphinx-testdata ships, one clip per turn; the
 * workers finalize, transcribe (PocketSphinx) and publish; the results are measured.
 */
const env = testAppEnv();
const { s3, bucket } = testS3(env);
const DATA = '/usr/share/pocketsphinx/test/data/librivox';
const reference = Object.fromEntries(
  readFileSync(`${DATA}/transcription`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const m = /^<s> (.*) <\/s> \((.*)\)$/.exec(l.trim())!;
      return [m[2], m[1]];
    }),
);
const turns = [
  { speaker: 'ann', clip: 'sense_and_sensibility_01_austen_64kb-0870', atMs: 1_000 },
  { speaker: 'ben', clip: 'sense_and_sensibility_01_austen_64kb-0880', atMs: 9_000 },
  { speaker: 'cat', clip: 'sense_and_sensibility_01_austen_64kb-0890', atMs: 12_800 },
  { speaker: 'ann', clip: 'sense_and_sensibility_01_austen_64kb-0920', atMs: 19_000 },
  { speaker: 'ben', clip: 'sense_and_sensibility_01_austen_64kb-0930', atMs: 26_000 },
];
const room = `replay-${Date.now()}`;
let result: ScenarioResult;
let manifest: Manifest;
let prefix: string;
let transcript: Transcript;
let workdir: string;

beforeAll(async () => {
  workdir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-replay-'));
  const cues: Record<string, Array<{ atMs: number; pcm: Int16Array }>> = {};
  for (const t of turns) (cues[t.speaker] ??= []).push({ atMs: t.atMs, pcm: loadAudio(`${DATA}/${t.clip}.wav`) });
  result = await runScenario({
    env,
    room,
    speakers: ['ann', 'ben', 'cat'].map((identity) => ({ identity, freq: 0, presence: [[0, 30_000]] as Array<[number, number]> })),
    bursts: [],
    cues,
    events: [],
    endMs: 30_500,
  });
  prefix = recordingPrefix(room, result.active.recordingId);
  manifest = await waitForManifest(s3, bucket, prefix, (m) => m.status === 'complete' && m.processing.publish?.status === 'done', 150_000);
  console.log(`room ended → replay ready: ${Date.parse(manifest.processing.publish!.at) - result.endedAtMs} ms; stages: ${JSON.stringify(manifest.processing)}`);
  transcript = JSON.parse((await getText(s3, bucket, prefix + rel.transcript('json')))!);
}, 240_000);

afterAll(async () => {
  s3.destroy();
  await dispose();
});

const name = (identity: string) => `Bot ${identity}`;
const clipStartMs = (atMs: number) => result.epochMs + atMs - Date.parse(manifest.startedAt);

test('every turn has the right speaker, in order, starting within ±0.5 s of its clip', () => {
  // Collapse consecutive segments of one speaker into turns.
  const heard: Array<{ speaker: string; start: number; text: string[] }> = [];
  for (const s of transcript.segments) {
    const last = heard[heard.length - 1];
    if (last && last.speaker === s.speaker) last.text.push(s.body);
    else heard.push({ speaker: s.speaker, start: s.startTime * 1000, text: [s.body] });
  }
  console.log(heard.map((h) => `${h.speaker} @${(h.start / 1000).toFixed(2)}s: ${h.text.join(' ')}`).join('\n'));
  expect(heard.map((h) => h.speaker)).toEqual(turns.map((t) => name(t.speaker)));
  turns.forEach((t, i) => expect(Math.abs(heard[i].start - clipStartMs(t.atMs))).toBeLessThanOrEqual(500));
});

test('word error rate is no worse than PocketSphinx on the clips directly, plus 5 points', () => {
  let base = { errors: 0, words: 0 };
  let ours = { errors: 0, words: 0 };
  for (const t of turns) {
    const ref = words(reference[t.clip]);
    const direct = execFileSync('pocketsphinx_continuous', ['-infile', `${DATA}/${t.clip}.wav`, '-logfn', '/dev/null'], { encoding: 'utf8' });
    const b = wer(ref, words(direct));
    const clipEnd = clipStartMs(t.atMs) + 8_000;
    const got = transcript.segments.filter((s) => s.speaker === name(t.speaker) && s.startTime * 1000 >= clipStartMs(t.atMs) - 500 && s.startTime * 1000 < clipEnd);
    const o = wer(ref, words(got.map((s) => s.body).join(' ')));
    base = { errors: base.errors + b.errors, words: base.words + b.words };
    ours = { errors: ours.errors + o.errors, words: ours.words + o.words };
  }
  const baseline = (100 * base.errors) / base.words;
  const recorded = (100 * ours.errors) / ours.words;
  console.log(`WER: PocketSphinx on the clips ${baseline.toFixed(1)} %, through roomcast ${recorded.toFixed(1)} % (${ours.words} words)`);
  expect(recorded).toBeLessThanOrEqual(baseline + 5);
});

test('each archive file is at −16 ± 1 LUFS with true peak ≤ −1 dBTP', async () => {
  for (const ext of ['opus', 'm4a', 'mp3'] as const) {
    const file = path.join(workdir, `mix.${ext}`);
    const { contentType } = await download(s3, bucket, prefix + rel.mixArchive(ext), file);
    const l = loudness(file);
    console.log(`mix.${ext} (${contentType}): ${l.I} LUFS, true peak ${l.TP} dBTP`);
    expect(Math.abs(l.I + 16)).toBeLessThanOrEqual(1);
    expect(l.TP).toBeLessThanOrEqual(-1);
  }
});

test('per-speaker files line up with the mix (cross-correlation peak at 0 ± 10 ms)', async () => {
  const mixFile = path.join(workdir, 'mix.opus');
  const at8k = (f: string) => decode(f, []).filter((_, i) => i % 6 === 0);
  const mix = at8k(mixFile);
  for (const sp of manifest.speakers) {
    const file = path.join(workdir, `${sp.key}.opus`);
    await download(s3, bucket, prefix + rel.speakerFile(sp.key), file);
    const own = at8k(file);
    expect(Math.abs(own.length - mix.length)).toBeLessThanOrEqual(8 * 60); // same length ±60 ms
    // Compare over this speaker's first turn only (4 s), where the mix is mostly them.
    const t = turns.find((x) => x.speaker === sp.identity)!;
    const from = Math.round((clipStartMs(t.atMs) * 8000) / 1000);
    const lag = xcorrLagMs(mix.subarray(from, from + 32_000), own.subarray(from, from + 32_000), 100);
    console.log(`${sp.identity}: lag against the mix ${lag.toFixed(2)} ms`);
    expect(Math.abs(lag)).toBeLessThanOrEqual(10);
  }
});

async function snapshot(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of r.Contents ?? []) {
      if (o.Key!.endsWith('manifest.json')) continue;
      const f = path.join(workdir, 'snap');
      await download(s3, bucket, o.Key!, f);
      out[o.Key!] = createHash('sha256').update(readFileSync(f)).digest('hex');
    }
    token = r.NextContinuationToken;
  } while (token);
  return out;
}

test('finalize and publish run again give the same keys and the same bytes', async () => {
  const before = await snapshot();
  const deps = { s3, bucket, log };
  const data = { room, recordingId: manifest.recordingId, manifestKey: prefix + rel.manifest };
  await finalize(deps, data);
  await publish(deps, data);
  const after = await snapshot();
  expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
  const changed = Object.keys(after).filter((k) => after[k] !== before[k]);
  expect(changed).toEqual([]);
  const m = Manifest.parse(JSON.parse((await getText(s3, bucket, prefix + rel.manifest))!));
  expect(m.status).toBe('complete');
});

test('the replay page plays, follows, seeks, searches, deep-links and offers working downloads', async () => {
  const base = `${env.PUBLIC_BASE_URL}/v1/rooms/${room}/recordings/${manifest.recordingId}/replay/index.html`;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    // ?t= starts there.
    await page.goto(`${base}?t=20`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForFunction(() => (document.getElementById('audio') as HTMLAudioElement).readyState >= 1, null, { timeout: 15_000 });
    await page.click('#play');
    await page.waitForFunction(() => (document.getElementById('audio') as HTMLAudioElement).currentTime > 20.5, null, { timeout: 15_000 });
    const t0 = await page.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).currentTime);
    await page.waitForTimeout(1500);
    const t1 = await page.evaluate(() => (document.getElementById('audio') as HTMLAudioElement).currentTime);
    expect(t0).toBeGreaterThanOrEqual(20);
    expect(t1).toBeGreaterThan(t0 + 0.5); // it plays

    // Clicking a transcript line seeks there and highlights it.
    const third = transcript.segments[2];
    await page.click('#segments li:nth-child(3)');
    await page.waitForFunction((s) => Math.abs((document.getElementById('audio') as HTMLAudioElement).currentTime - s) < 1.5, third.startTime);
    await page.waitForSelector('#segments li:nth-child(3)[aria-current="true"]');

    // Search finds a spoken word.
    const word = transcript.segments.flatMap((s) => s.body.split(' ')).sort((a, b) => b.length - a.length)[0];
    await page.fill('#search', word);
    const visible = await page.$$eval('#segments li:not(.hidden)', (els) => els.map((e) => e.textContent ?? ''));
    expect(visible.length).toBeGreaterThan(0);
    for (const v of visible) expect(v.toLowerCase()).toContain(word.toLowerCase());

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'replay.png'), fullPage: true });

    // Keyboard: "n" skips to the next speaker's turn; Enter on a focused line seeks to it.
    await page.fill('#search', '');
    await page.click('#segments li:nth-child(1)');
    await page.focus('body');
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('n');
    const second = transcript.segments.find((x) => x.speaker !== transcript.segments[0].speaker)!;
    await page.waitForFunction((t) => Math.abs((document.getElementById('audio') as HTMLAudioElement).currentTime - t) < 1.5, second.startTime);
    await page.focus('#segments li:nth-child(4)');
    await page.keyboard.press('Enter');
    await page.waitForFunction((t) => Math.abs((document.getElementById('audio') as HTMLAudioElement).currentTime - t) < 1.5, transcript.segments[3].startTime);

    // Readable on a phone: nothing wider than the screen.
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    await phone.goto(base);
    await phone.waitForSelector('body[data-ready="true"]');
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await phone.screenshot({ path: path.join(ARTIFACTS, 'replay-phone.png'), fullPage: true });

    // Every download link answers 200 with its type and length. Listeners get the mix and the
    // transcripts; a page opened with a host's token also offers each speaker's own file.
    const linksOf = () => page.$$eval('#downloads a', (as) => as.map((a) => ({ href: (a as HTMLAnchorElement).href, type: (a as HTMLElement).dataset.type! })));
    const check = async (links: Array<{ href: string; type: string }>) => {
      for (const l of links) {
        const res = await fetch(l.href);
        const body = await res.arrayBuffer();
        expect({ href: l.href, status: res.status }).toEqual({ href: l.href, status: 200 });
        expect(res.headers.get('content-type')).toContain(l.type);
        expect(Number(res.headers.get('content-length'))).toBe(body.byteLength);
        expect(body.byteLength).toBeGreaterThan(50);
      }
    };
    const listenerLinks = await linksOf();
    expect(listenerLinks.length).toBe(3 + 4);
    await check(listenerLinks);
    await page.goto(`${base}?token=${await livekitToken(env, manifest.room, { roomAdmin: true }, { recording: manifest.recordingId })}`);
    await page.waitForSelector('body[data-ready="true"]');
    const hostLinks = await linksOf();
    expect(hostLinks.length).toBe(3 + manifest.speakers.length + 4);
    await check(hostLinks);
  } finally {
    await browser.close();
  }
});

test('a transcription that fails for good leaves the recording and the replay page working, saying why', async () => {
  const deps = { s3, bucket, log };
  const data = { room, recordingId: manifest.recordingId, manifestKey: prefix + rel.manifest };
  // Without live transcription's words, and with an OpenAI-compatible service that is not there.
  for (const sp of manifest.speakers) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: prefix + rel.liveWords(sp.key) }));
  const broken = new OpenAiEngine({ baseUrl: 'http://127.0.0.1:9', model: 'whisper-1' });
  await expect(transcribe({ ...deps, engine: broken, timeoutMs: 2000 }, data)).rejects.toThrow();
  let m = Manifest.parse(JSON.parse((await getText(s3, bucket, prefix + rel.manifest))!));
  expect(m.processing.transcribe?.status).toBe('failed');
  expect(m.processing.transcribe?.error).toMatch(/fetch failed|ECONNREFUSED/);
  await publish(deps, data);
  m = Manifest.parse(JSON.parse((await getText(s3, bucket, prefix + rel.manifest))!));
  expect(m.status).toBe('complete');
  const page = JSON.parse((await getText(s3, bucket, prefix + rel.replayData))!);
  expect(page.transcript).toBeNull();
  expect(page.transcriptError).toBe(m.processing.transcribe?.error);
  expect(page.downloads.map((d: { label: string }) => d.label)).toContain('Mix (MP3)');
});
