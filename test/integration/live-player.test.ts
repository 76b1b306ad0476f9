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
  try {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('requestfailed', (req) => logs.push(`failed: ${req.url()} ${req.failure()?.errorText}`));
    page.on('response', (res) => res.status() >= 400 && logs.push(`${res.status()}: ${res.url()}`));
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
        await page.waitForFunction(() => (window as any).roomcastLive?.status?.live === true, null, { timeout: 15_000 });
        await listenForTone(page, TONE_HZ);
        while (!stopped()) {
          const s = await page.evaluate(() => ({
            t: (document.getElementById('audio') as HTMLAudioElement).currentTime,
            speaking: Array.from(document.querySelectorAll('#speakers li.speaking')).map((li) => li.textContent ?? ''),
            badge: !(document.getElementById('badge') as HTMLElement).hidden,
          }));
          currentTimes.push(s.t);
          s.speaking.forEach((x) => speakingSeen.add(x));
          await sleep(200);
        }
        statusBody = await (await fetch(`${api}/v1/rooms/${room}/live/status`)).json();
        await page.screenshot({ path: path.join(ARTIFACTS, 'live-player.png') });
      },
    });
    checkAgainstSpec('get', '/v1/rooms/{room}/live/status', 200, statusBody);
    // The listener is seconds behind the room: the last tone arrives after the room has ended.
    await page.waitForFunction((n) => (window as any).toneOnsets?.length >= n, TONES_AT.length, { timeout: 15_000 }).catch(() => undefined);
    const onsets: number[] = await page.evaluate(() => (window as any).toneOnsets ?? []);
    delays.push(...matchOnsets(onsets, TONES_AT.map((atMs) => r.epochMs + atMs)));
    console.log(`speaker → listener delay (s): ${delays.map((d) => d.toFixed(2)).join(', ')}; tones heard ${delays.length}/${TONES_AT.length}; speaking seen: ${[...speakingSeen].join(', ')}`);
    expect(currentTimes[currentTimes.length - 1]).toBeGreaterThan(currentTimes.find((t) => t > 0) ?? Infinity);
    // The player joins a few seconds in: every tone after that is heard.
    expect(delays.length).toBeGreaterThanOrEqual(TONES_AT.length - 1);
    for (const d of delays) {
      // A tone cannot be heard before the segment holding it has closed and reached S3.
      expect(d).toBeGreaterThan(2);
      expect(d).toBeLessThan(10);
    }
    expect([...speakingSeen]).toEqual(expect.arrayContaining(['Bot ann', 'Bot ben']));

    // The room is over: the page plays to the end of the stream, then moves to the replay.
    await page.waitForURL(/\/replay\/index\.html/, { timeout: 90_000 });
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
    console.log(`switched to ${page.url()}`);
  } finally {
    await browser.close();
  }
});
