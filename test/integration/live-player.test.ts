import path from 'node:path';
import { dispose } from '@livekit/rtc-node';
import { chromium } from 'playwright-core';
import { ARTIFACTS, testAppEnv } from '../support/env';
import { listenForTone, matchOnsets } from '../support/live-listener';
import { checkAgainstSpec } from '../support/openapi';
import { runScenario, sleep } from '../support/scenario';

/**
 * The live player in headless Chromium while bots speak in a real room: it plays, hears a bot's
 * tone (Web Audio, in the page) some seconds after the bot sent it, shows who is speaking, and
 * switches to the replay page when the room has ended.
 */
const env = testAppEnv();
const api = env.PUBLIC_BASE_URL;
let afterLogs: () => string[] = () => [];
afterAll(() => {
  console.log(`page log:\n${afterLogs().slice(-40).join('\n')}`);
  return dispose();
});

const TONE_HZ = 1000;
const TONES_AT = [7_000, 12_000, 17_000, 22_000];

test('the live page plays, a bot\'s tone reaches it within seconds, it shows who speaks, then switches to the replay', async () => {
  const room = `live-${Date.now()}`;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
  });
  const speakingSeen = new Set<string>();
  const currentTimes: number[] = [];
  const delays: number[] = [];
  let listeningFrom = Infinity;
  let lastPlayer: unknown = null;
  let listener: unknown = null;
  // Tone onsets the page heard, kept here: the page's own list is gone once it moves to the replay.
  const heard = new Set<number>();
  try {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('requestfailed', (req) => logs.push(`failed: ${req.url()} ${req.failure()?.errorText}`));
    const refused: string[] = [];
    page.on('response', (res) => {
      if (res.status() < 400) return;
      logs.push(`${res.status()}: ${res.url()}`);
      refused.push(`${res.status()} ${new URL(res.url()).pathname.split('/').slice(-2).join('/')}${new URL(res.url()).search.slice(0, 40)}`);
    });
    afterLogs = () => logs;
    let statusBody: unknown;
    const r = await runScenario({
      env,
      room,
      speakers: [
        { identity: 'ann', freq: TONE_HZ, presence: [[0, 25_000]] },
        { identity: 'ben', freq: 500, presence: [[0, 25_000]] },
      ],
      bursts: [
        ...TONES_AT.map((atMs) => ({ speaker: 'ann', freq: TONE_HZ, atMs, durMs: 400, dbfs: -10 })),
        { speaker: 'ben', freq: 500, atMs: 3_000, durMs: 2_500, dbfs: -10 },
        { speaker: 'ben', freq: 500, atMs: 14_000, durMs: 2_000, dbfs: -10 },
      ],
      events: [],
      endMs: 25_500,
      during: async (stopped) => {
        await page.goto(`${api}/v1/rooms/${room}/live`);
        await page.waitForFunction(() => (window as any).roomcastLive?.status?.live === true, null, { timeout: 15_000 }).catch((err) => {
          throw new Error(`the live page did not say the room is live within 15 s: ${String(err).split('\n')[0]}`);
        });
        await listenForTone(page, TONE_HZ);
        listeningFrom = Date.now();
        while (!stopped()) {
          const s = await page.evaluate(() => ({
            t: (document.getElementById('audio') as HTMLAudioElement).currentTime,
            speaking: Array.from(document.querySelectorAll('#speakers li.speaking')).map((li) => li.textContent ?? ''),
            badge: !(document.getElementById('badge') as HTMLElement).hidden,
            onsets: ((window as any).toneOnsets ?? []) as number[],
            player: (window as any).roomcastLive?.player?.() ?? null,
            listener: { ...(window as any).toneListener, paused: (document.getElementById('audio') as HTMLAudioElement).paused },
          }));
          if (s.player) lastPlayer = s.player;
          listener = s.listener;
          s.onsets.forEach((t) => heard.add(t));
          currentTimes.push(s.t);
          s.speaking.forEach((x) => speakingSeen.add(x));
          await sleep(200);
        }
        statusBody = await (await fetch(`${api}/v1/rooms/${room}/live/status`)).json();
        await page.screenshot({ path: path.join(ARTIFACTS, 'live-player.png') });
      },
    });
    checkAgainstSpec('get', '/v1/rooms/{room}/live/status', 200, statusBody);
    // The listener is seconds behind the room: the last tone arrives after the room has ended. Its
    // onset must come; a wait that runs out is the test failing, not a shorter list of delays.
    const lastSent = r.epochMs + TONES_AT[TONES_AT.length - 1];
    const waitUntil = Date.now() + 15_000;
    let left = false;
    while (![...heard].some((o) => o > lastSent) && Date.now() < waitUntil && !left) {
      const got = await page.evaluate(() => ((window as any).toneOnsets ?? null) as number[] | null).catch(() => null);
      if (got) got.forEach((t) => heard.add(t));
      else left = /\/replay\//.test(page.url()); // on the replay page: nothing more will be heard
      await sleep(100);
    }
    const onsets = [...heard].sort((a, b) => a - b);
    const rel = (t: number) => ((t - r.epochMs) / 1000).toFixed(2);
    if (!onsets.some((o) => o > lastSent)) {
      throw new Error(`the live page did not hear the last tone (sent ${rel(lastSent)} s into the room) ${left ? 'before it moved to the replay page' : "within 15 s of the room's end"}; onsets heard at ${onsets.map(rel).join(', ') || 'none'} s (room time), listening from ${rel(listeningFrom)} s; audio currentTime ${currentTimes.find((t) => t > 0)?.toFixed(2)} → ${currentTimes.at(-1)?.toFixed(2)} s over ${currentTimes.length} looks; listener ${JSON.stringify(listener)}; hls.js ${JSON.stringify(lastPlayer)}; refused ${refused.slice(0, 6).join(', ') || 'nothing'}`);
    }
    delays.push(...matchOnsets(onsets, TONES_AT.map((atMs) => r.epochMs + atMs)));
    const sorted = [...delays].sort((a, b) => a - b);
    const p50 = sorted[Math.floor(sorted.length / 2)];
    console.log(`speaker → listener delay (s): ${delays.map((d) => d.toFixed(2)).join(', ')} (p50 ${p50?.toFixed(2)}, max ${sorted.at(-1)?.toFixed(2)}); tones heard ${delays.length}/${TONES_AT.length}; listening from ${rel(listeningFrom)} s; speaking seen: ${[...speakingSeen].join(', ')}`);
    expect(currentTimes[currentTimes.length - 1]).toBeGreaterThan(currentTimes.find((t) => t > 0) ?? Infinity);
    // The player joins a few seconds in: every tone sent after the page began listening is heard,
    // and at most the first one before that may be missed.
    expect(delays.length).toBeGreaterThanOrEqual(Math.max(TONES_AT.length - 1, TONES_AT.filter((atMs) => r.epochMs + atMs > listeningFrom).length));
    for (const d of delays) {
      // Nothing is heard before the mixer's wait for late audio (250 ms) and the part holding it.
      expect(d).toBeGreaterThan(0.3);
      // LL-HLS: README, Benchmarks: p50 ~1.4 s in bench/listening.ts (the issue asks a tone within
      // 2.5 s of being sent in this test, on a busy 2-core CI machine).
      expect(d).toBeLessThanOrEqual(2.5);
    }
    console.log(`hls.js at the end of the room: ${JSON.stringify(lastPlayer)}`);
    expect(p50).toBeLessThanOrEqual(2);
    expect([...speakingSeen]).toEqual(expect.arrayContaining(['Bot ann', 'Bot ben']));

    // The room is over: the page plays to the end of the stream, then moves to the replay.
    await page.waitForURL(/\/replay\/index\.html/, { timeout: 90_000 });
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
    console.log(`switched to ${page.url()}`);
  } finally {
    await browser.close();
  }
});
