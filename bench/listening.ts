/**
 * The listening benchmark:
 * 1. Speaker → listener delay in Chromium: a bot sends a 1 kHz tone every 5 s into a real room for
 *    --minutes; two live player pages hear it through Web Audio at once, one in LL-HLS (hls.js
 *    lowLatencyMode) and one as a player that knows nothing of parts (plain HLS, 3 s behind the
 *    edge, how roomcast played before LL-HLS). p50/p95 of each, and where the LL delay goes: from
 *    the tone leaving the bot to its part reaching Redis (LiveKit, the jitter buffer, the mixer's wait,
 *    the encoder, the part filling up), the api answering the blocked reload, hls.js's hold-back.
 * 2. Blocked-reload listeners on one api process (--listeners, bounded by --load-seconds): each holds
 *    a blocking LL-HLS reload (_HLS_msn/_HLS_part, delta updates), asks for the next the moment it
 *    is answered; how many are held, answers per second, p50/p99 from the part reaching Redis to
 *    the answer (client side and the api's own), the api's memory.
 * 3. One api process under wrk (loopback, bounded in time): requests/s and p99 for the live playlist
 *    and a segment, with the edge cache and without it.
 *
 *   npx tsx bench/listening.ts [--minutes 3] [--listeners 5000] [--load-seconds 20] [--wrk-seconds 10] [--connections 50]
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
import { type Config, loadConfig } from '../src/config';
import { edgeStreamKey } from '../src/contracts/live-edge';
import { Program, tone } from '../src/demo/program';
import { SpeakerBot } from '../src/demo/speaker-bot';
import { Control } from '../src/shared/control';
import { roomService } from '../src/shared/livekit';
import { redisConnection } from '../src/shared/queues';
import { stackUp } from '../src/stack/stack';
import { stackAppEnv, stackSettings } from '../src/stack/settings';
import { CHROMIUM_ARGS, listenForTone, matchOnsets } from '../test/support/live-listener';
import { RoomcastProcess } from '../test/support/roomcast-process';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '3' }, listeners: { type: 'string', default: '5000' }, 'load-seconds': { type: 'string', default: '20' }, 'wrk-seconds': { type: 'string', default: '10' }, connections: { type: 'string', default: '50' } } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let METRICS_TOKEN = '';
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function main() {
  const settings = stackSettings();
  await stackUp(settings);
  const env = { ...stackAppEnv(settings), LOG_LEVEL: 'warn' };
  const cfg = loadConfig({ ...process.env, ...env });
  METRICS_TOKEN = cfg.METRICS_TOKEN ?? '';
  const roomcast = new RoomcastProcess('bench-roomcast', { ...env, METRICS_PORT: '8185' });
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
    const active = (await control.getActive(room))!;
    const parts = followParts(cfg, active.recordingId);
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const pages = { ll: await browser.newPage(), plain: await browser.newPage() };
    for (const [kind, page] of Object.entries(pages)) {
      await page.goto(`${cfg.PUBLIC_BASE_URL}/v1/rooms/${room}/live${kind === 'plain' ? '?ll=0' : ''}`);
      await page.waitForFunction(() => (window as any).roomcastLive?.status?.live === true, null, { timeout: 20_000 });
      await listenForTone(page, 1000);
    }
    console.log(`## Speaker → listener delay (Chromium, hls.js), ${tonesAt.length} tones over ${minutes} min, LL-HLS and plain HLS in the same run`);
    const holdBack: number[] = [];
    while (Date.now() < epochMs + minutes * 60_000) {
      const p = await pages.ll.evaluate(() => (window as any).roomcastLive.player());
      if (p?.latency) holdBack.push(p.latency);
      await sleep(1000);
    }
    console.log('Settings: CMAF segments 1.92 s of 213 ms parts (AAC 64 kb/s); LL page: hls.js lowLatencyMode, PART-HOLD-BACK 0.64 s; plain page: hls.js without parts, liveSyncDuration 3 s, liveMaxLatencyDuration 8 s, maxLiveSyncPlaybackRate 1.2 (the player before LL-HLS).\n');
    console.log('| player | tones sent | heard | p50 | p95 | max |');
    console.log('|---|---|---|---|---|---|');
    const delays: Record<string, number[]> = {};
    for (const [kind, page] of Object.entries(pages)) {
      const onsets: number[] = await page.evaluate(() => (window as any).toneOnsets);
      delays[kind] = matchOnsets(onsets, tonesAt.map((t) => epochMs + t));
      const d = delays[kind];
      console.log(`| ${kind === 'll' ? 'LL-HLS' : 'plain HLS'} | ${tonesAt.length} | ${d.length} | ${pct(d, 50).toFixed(2)} s | ${pct(d, 95).toFixed(2)} s | ${Math.max(...d).toFixed(2)} s |`);
    }
    console.log(`\nRatio plain / LL at p50: ${(pct(delays.plain, 50) / pct(delays.ll, 50)).toFixed(1)}x`);
    // Where the LL delay goes, tone by tone: the part holding the tone (its place on the timeline is
    // where it was sent plus LiveKit and the jitter buffer, ~0.1 s) reached Redis at a known time.
    const toPart: number[] = [];
    for (const t of tonesAt) {
      const sent = epochMs + t;
      const p = parts.list.find((x) => x.fromMs <= sent + 100 && sent + 100 < x.fromMs + x.durationMs);
      if (p) toPart.push((p.addedAtMs - sent) / 1000);
    }
    const answer = await answerSeconds('http://127.0.0.1:8185/metrics');
    const ll = pct(delays.ll, 50);
    const hb = pct(holdBack, 50);
    const mixWait = cfg.MIX_LATENCY_MS / 1000 + 0.05;
    const part = pct(toPart, 50);
    console.log(`\n| LL-HLS hop (p50) | seconds | share |`);
    console.log('|---|---|---|');
    const row = (what: string, x: number) => console.log(`| ${what} | ${x.toFixed(3)} | ${((100 * x) / ll).toFixed(0)} % |`);
    row(`tone sent → its part in Redis (measured)`, part);
    row(`  of which the mixer's wait for late audio (MIX_LATENCY_MS + half a 100 ms tick, configured)`, mixWait);
    row(`  of which LiveKit + jitter buffer, the encoder, the part filling up (the rest)`, part - mixWait);
    row(`part in Redis → heard (the rest of the total)`, ll - part);
    row(`  of which the api answering the blocked reload after the part reached it (api's histogram, mean)`, answer);
    row(`  of which hls.js's hold-back behind the newest part's end, part and playlist fetch, audio output (the rest)`, ll - part - answer);
    console.log(`hls.js's own latency estimate (behind its live edge, sampled each second): p50 ${hb.toFixed(3)} s (PART-HOLD-BACK 0.64 s)`);
    row(`total (tone sent → heard)`, ll);
    parts.stop();
    await browser.close();
    }

    const active = (await control.getActive(room))!;
    const rec = `/v1/rooms/${room}/recordings/${active.recordingId}`;
    for (const n of values.listeners.split(',').map(Number).filter((x) => x > 0)) await blockedListeners(env, cfg, rec, active.recordingId, n, Number(values['load-seconds']));

    // 3. wrk against one api process, while the room is still live.
    const playlist = await (await fetch(`${cfg.PUBLIC_BASE_URL}${rec}/hls/live.m3u8`)).text();
    const segment = playlist.split('\n').filter((l) => l.endsWith('.m4s')).at(-1)!;
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

/** The parts of a recording as they reach Redis: where each sits on the wall clock, and when it was added. */
function followParts(cfg: Config, recordingId: string) {
  const redis = redisConnection(cfg);
  const key = edgeStreamKey(cfg.QUEUE_PREFIX, recordingId);
  const list: Array<{ msn: number; part: number; fromMs: number; durationMs: number; addedAtMs: number }> = [];
  const byPoint = new Map<string, number>();
  let stopped = false;
  let last = '0';
  void (async () => {
    while (!stopped) {
      const res = (await redis.xread('BLOCK', 500, 'STREAMS', key, last).catch(() => null)) as Array<[string, Array<[string, string[]]>]> | null;
      for (const [, entries] of res ?? []) {
        for (const [id, f] of entries) {
          last = id;
          const m = JSON.parse(f[f.indexOf('m') + 1]);
          if (m.t !== 'part') continue;
          const addedAtMs = Number(id.split('-')[0]);
          list.push({ msn: m.msn, part: m.part, fromMs: m.segmentStartMs + m.part * m.partTarget * 1000, durationMs: m.duration * 1000, addedAtMs });
          byPoint.set(`${m.msn}.${m.part}`, addedAtMs);
        }
      }
    }
  })();
  return { list, byPoint, stop: () => { stopped = true; redis.disconnect(); } };
}

/** A roomcast process's /metrics (its own listener; the stack sets a token). */
async function metricsText(url: string): Promise<string> {
  try {
    const res = await fetch(url, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    return await res.text();
  } catch {
    return '';
  }
}

/** The api's mean time from a part reaching it to the blocked requests for it being answered. */
async function answerSeconds(metricsUrl: string): Promise<number> {
  const text = await metricsText(metricsUrl);
  const sum = Number(/roomcast_edge_part_answer_seconds_sum (\S+)/.exec(text)?.[1] ?? NaN);
  const count = Number(/roomcast_edge_part_answer_seconds_count (\S+)/.exec(text)?.[1] ?? NaN);
  return count > 0 ? sum / count : NaN;
}

/**
 * `n` LL-HLS listeners on one fresh api process, each holding a blocking reload (delta updates) and
 * asking for the next part's the moment it is answered, for `seconds`.
 */
async function blockedListeners(env: Record<string, string>, cfg: Config, rec: string, recordingId: string, n: number, seconds: number) {
  const port = 8183;
  const metricsPort = 8184;
  const api = new RoomcastProcess('bench-api-edge', { ...env, API_PORT: String(port), METRICS_PORT: String(metricsPort), HLS_RATE_LIMIT_PER_MINUTE: '100000000', RATE_LIMIT_PER_MINUTE: '100000000', ...(process.env.BENCH_API_NODE_ARGS ? { ROOMCAST_NODE_ARGS: process.env.BENCH_API_NODE_ARGS } : {}) }, ['api']);
  await api.start();
  const parts = followParts(cfg, recordingId);
  const url = `http://127.0.0.1:${port}${rec}/hls/index.m3u8`;
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${api.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  try {
    const first = await (await fetch(url)).text();
    const rssIdle = rss();
    const after: number[] = [];
    let answered = 0;
    let failed = 0;
    let inFlight = 0;
    let stop = false;
    const hintOf = (text: string) => /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg_(\d+)\.p(\d+)\.m4s"/.exec(text);
    const listener = async () => {
      let h = hintOf(first);
      while (!stop && h) {
        try {
          inFlight++;
          const res = await fetch(`${url}?_HLS_msn=${Number(h[1])}&_HLS_part=${Number(h[2])}&_HLS_skip=YES`).finally(() => inFlight--);
          const text = await res.text();
          const at = Date.now();
          if (!res.ok) throw new Error(String(res.status));
          const added = parts.byPoint.get(`${Number(h[1])}.${Number(h[2])}`);
          if (added && !stop) after.push(at - added);
          answered++;
          h = hintOf(text) ?? h;
        } catch {
          failed++;
          await sleep(200);
        }
      }
    };
    const started = Date.now();
    const all = Array.from({ length: n }, () => listener());
    const held: number[] = [];
    const rssLoad: number[] = [];
    while (Date.now() < started + seconds * 1000) {
      await sleep(1000);
      held.push(inFlight);
      rssLoad.push(rss());
    }
    stop = true;
    const serverSide = await answerSeconds(`http://127.0.0.1:${metricsPort}/metrics`);
    await Promise.race([Promise.all(all), sleep(15_000)]);
    const perSec = answered / seconds;
    console.log(`\n## ${n} blocked-reload listeners on one api process (${seconds} s, loopback, the listeners in this process on the same 2 cores)`);
    console.log('| listeners | requests open (median of 1 s samples) | answers/s (needed: listeners × 4.7) | from part in Redis to answer, client side p50 / p99 | api side mean | failed | api RSS idle → under load |');
    console.log('|---|---|---|---|---|---|---|');
    console.log(`| ${n} | ${pct(held, 50)} | ${perSec.toFixed(0)} | ${pct(after, 50)} / ${pct(after, 99)} ms | ${(serverSide * 1000).toFixed(1)} ms | ${failed} | ${rssIdle.toFixed(0)} → ${pct(rssLoad, 50).toFixed(0)} MB (${(((pct(rssLoad, 50) - rssIdle) * 1024) / n).toFixed(1)} KB per listener) |`);
    const edgeBytes = Number(/^roomcast_edge_bytes (\S+)/m.exec(await metricsText(`http://127.0.0.1:${metricsPort}/metrics`))?.[1] ?? NaN);
    console.log(`Edge memory for the room (parts kept in memory, roomcast_edge_bytes): ${(edgeBytes / 1024).toFixed(0)} KB`);
  } finally {
    parts.stop();
    await api.stop();
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err);
  process.exit(1);
});
