/**
 * The listening benchmark:
 * 1. Speaker → listener delay in Chromium: a bot sends a 1 kHz tone every 5 s into a real room for
 *    --minutes; the live player page (hls.js) hears it through Web Audio. p50/p95 of the delay.
 * 2. One api process on this machine under wrk (loopback, bounded in time): requests/s and p99 for
 *    the live playlist and a segment, with the edge cache and without it (every request goes to S3).
 *
 *   npx tsx bench/listening.ts [--minutes 3] [--wrk-seconds 10] [--connections 50]   (--minutes 0: wrk only)
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { loadConfig } from '../src/config';
import { Program, tone } from '../src/demo/program';
import { SpeakerBot } from '../src/demo/speaker-bot';
import { Control } from '../src/shared/control';
import { roomService } from '../src/shared/livekit';
import { redisConnection } from '../src/shared/queues';
import { stackUp } from '../src/stack/stack';
import { stackAppEnv, stackSettings } from '../src/stack/settings';
import { CHROMIUM_ARGS, listenForTone, matchOnsets } from '../test/support/live-listener';
import { RoomcastProcess } from '../test/support/roomcast-process';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '3' }, 'wrk-seconds': { type: 'string', default: '10' }, connections: { type: 'string', default: '50' } } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function main() {
  const settings = stackSettings();
  await stackUp(settings);
  const env = { ...stackAppEnv(settings), LOG_LEVEL: 'warn' };
  const cfg = loadConfig({ ...process.env, ...env });
  const roomcast = new RoomcastProcess('bench-roomcast', env);
  await roomcast.start();
  const redis = redisConnection(cfg);
  const control = new Control(redis, cfg.QUEUE_PREFIX);
  const room = `bench-listen-${Date.now()}`;
  const minutes = Number(values.minutes);
  const toneEveryMs = 5_000;
  const tonesAt = Array.from({ length: Math.max(0, Math.floor((minutes * 60_000 - 8_000) / toneEveryMs)) }, (_, i) => 6_000 + i * toneEveryMs);
  try {
    await roomService(cfg).createRoom({ name: room, emptyTimeout: 30 });
    for (let i = 0; !(await control.getActive(room)); i++) {
      if (i > 150) throw new Error('no recorder joined');
      await sleep(100);
    }
    const epochMs = Date.now() + 1000;
    const bot = new SpeakerBot({ url: cfg.LIVEKIT_URL, apiKey: cfg.LIVEKIT_API_KEY, apiSecret: cfg.LIVEKIT_API_SECRET, room, identity: 'beeper', name: 'Beeper', dtx: false }, new Program(tonesAt.map((atMs) => ({ atMs, pcm: tone(1000, 300, -10) }))), epochMs);
    await bot.join();
    if (minutes > 0) await measureDelay();
    else await sleep(8_000); // a few segments for wrk to ask for
    async function measureDelay() {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    await page.goto(`${cfg.PUBLIC_BASE_URL}/v1/rooms/${room}/live`);
    await page.waitForFunction(() => (window as any).roomcastLive?.status?.live === true, null, { timeout: 20_000 });
    await listenForTone(page, 1000);
    console.log(`## Speaker → listener delay (Chromium, hls.js), ${tonesAt.length} tones over ${minutes} min`);
    await sleep(epochMs + minutes * 60_000 - Date.now());
    const badge: number | null = await page.evaluate(() => (window as any).roomcastLive.delaySeconds());
    const onsets: number[] = await page.evaluate(() => (window as any).toneOnsets);
    const delays = matchOnsets(onsets, tonesAt.map((t) => epochMs + t));
    console.log('Settings: HLS segments 2 s (MPEG-TS, AAC 64 kb/s), live playlist window 6 segments; hls.js liveSyncDuration 3 s, liveMaxLatencyDuration 8 s, maxLiveSyncPlaybackRate 1.2.\n');
    console.log('| tones sent | heard | p50 | p95 | max | player badge at the end |');
    console.log('|---|---|---|---|---|---|');
    console.log(`| ${tonesAt.length} | ${delays.length} | ${pct(delays, 50).toFixed(2)} s | ${pct(delays, 95).toFixed(2)} s | ${Math.max(...delays).toFixed(2)} s | ${badge?.toFixed(1)} s |`);
    await browser.close();
    }

    // 2. wrk against one api process, while the room is still live.
    const active = (await control.getActive(room))!;
    const rec = `/v1/rooms/${room}/recordings/${active.recordingId}`;
    const playlist = await (await fetch(`${cfg.PUBLIC_BASE_URL}${rec}/hls/live.m3u8`)).text();
    const segment = playlist.split('\n').filter((l) => l.endsWith('.ts')).at(-1)!;
    console.log(`\n## One api process under wrk (${values['wrk-seconds']} s, ${values.connections} connections, 2 threads, loopback), room live`);
    console.log('| request | edge cache | requests/s | p50 | p99 |');
    console.log('|---|---|---|---|---|');
    for (const cache of [true, false]) {
      const port = cache ? 8181 : 8182;
      const api = new RoomcastProcess(`bench-api-${cache ? 'cache' : 'nocache'}`, { ...env, API_PORT: String(port), API_EDGE_CACHE: String(cache), HLS_RATE_LIMIT_PER_MINUTE: '100000000' }, ['api']);
      await api.start();
      try {
        for (const [what, url] of [['live playlist', `${rec}/hls/live.m3u8`], ['segment', `${rec}/hls/${segment}`]]) {
          const out = execFileSync('wrk', ['-t2', `-c${values.connections}`, `-d${values['wrk-seconds']}s`, '--latency', `http://127.0.0.1:${port}${url}`], { encoding: 'utf8' });
          const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)?.[1];
          const p50 = /\s50%\s+([\d.]+\w+)/.exec(out)?.[1];
          const p99 = /\s99%\s+([\d.]+\w+)/.exec(out)?.[1];
          const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? '0';
          console.log(`| ${what} | ${cache ? 'on' : 'off (S3 each time)'} | ${rps} | ${p50} | ${p99}${non2xx !== '0' ? ` (${non2xx} non-2xx)` : ''} |`);
        }
      } finally {
        await api.stop();
      }
    }
    await bot.leave();
    await roomService(cfg).deleteRoom(room).catch(() => undefined);
  } finally {
    redis.disconnect();
    await roomcast.stop();
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
