/**
 * What it costs to get decoded frames from rtc-node into JS, by path and frame size: rtc-node's
 * AudioStream (every FFI event goes to every stream and room listener, then a ReadableStream and an
 * async iterator) against the ingest's direct route (src/ingest/livekit/ffi-audio.ts). R rooms × 4 talking
 * bots (in child processes); this process joins the R rooms as one subscriber, as an ingest does,
 * and for each frame size and path reads every track for --seconds, measuring its own CPU (all
 * threads). A baseline with the rooms joined and nothing read gives what decoding costs anyway;
 * each path's figure less the baseline is that path's cost.
 *
 *   npx tsx bench/frame-path.ts [--rooms 1,4] [--frame-ms 10,20,100] [--seconds 15]
 */
import { parseArgs } from 'node:util';
import { AudioStream, RemoteTrack, Room, RoomEvent, TrackKind } from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import { loadConfig } from '../src/config';
import { openTrackAudio } from '../src/ingest/livekit/ffi-audio';
import { SAMPLE_RATE } from '../src/ingest/pipeline/timeline';
import { roomService } from '../src/shared/livekit';
import { stackUp } from '../src/stack/stack';
import { stackAppEnv, stackSettings } from '../src/stack/settings';
import { BotPool } from './support/bots';
import { runRtcBench } from './support/run-rtc';
import { roomScript } from './support/script';

const { values } = parseArgs({
  options: {
    rooms: { type: 'string', default: '1,4' },
    'frame-ms': { type: 'string', default: '10,20,100' },
    seconds: { type: 'string', default: '15' },
  },
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const list = (s: string) => s.split(',').map(Number);
type Path = 'none' | 'AudioStream' | 'ffi-route';

interface Row {
  rooms: number;
  frameMs: number;
  path: Path;
  cpuMsPerS: number;
  framesPerS: number;
}

async function measure(env: Record<string, string>, names: string[], path: Path, frameMs: number, ms: number): Promise<Row> {
  const rooms: Room[] = [];
  const stops: Array<() => void> = [];
  let frames = 0;
  let sink = 0;
  const onPcm = (pcm: Int16Array) => {
    frames++;
    sink += pcm[0]; // touch the data, as a consumer would
  };
  let tracks = 0;
  for (const name of names) {
    const at = new AccessToken(env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET, { identity: `frame-path-${Date.now()}`, ttl: '1h' });
    at.addGrant({ room: name, roomJoin: true, canSubscribe: true, canPublish: false, hidden: true });
    const room = new Room();
    room.on(RoomEvent.TrackSubscribed, (t: RemoteTrack) => {
      if (t.kind !== TrackKind.KIND_AUDIO) return;
      tracks++;
      const format = { sampleRate: SAMPLE_RATE, numChannels: 1, frameSizeMs: frameMs };
      if (path === 'ffi-route') {
        const r = openTrackAudio(t, format, onPcm);
        if (!r) throw new Error('the direct route is not available with this rtc-node');
        stops.push(() => r.close());
      } else if (path === 'AudioStream') {
        const stream = new AudioStream(t, format);
        void (async () => {
          for await (const f of stream as unknown as AsyncIterable<{ data: Int16Array }>) onPcm(f.data);
        })();
      }
    });
    await room.connect(env.LIVEKIT_URL, await at.toJwt(), { autoSubscribe: true, dynacast: false });
    rooms.push(room);
  }
  while (tracks < names.length * 4) await sleep(100);
  await sleep(3000); // subscription bursts and jitter buffers settle
  const f0 = frames;
  const t0 = process.cpuUsage();
  await sleep(ms);
  const u = process.cpuUsage(t0);
  const got = frames - f0;
  for (const s of stops) s();
  for (const r of rooms) await r.disconnect();
  await sleep(1000);
  void sink;
  return { rooms: names.length, frameMs, path, cpuMsPerS: (u.user + u.system) / ms, framesPerS: (got * 1000) / ms };
}

async function main(): Promise<void> {
  const ms = Number(values.seconds) * 1000;
  const roomCounts = list(values.rooms!);
  const frameSizes = list(values['frame-ms']!);
  const settings = stackSettings();
  await stackUp(settings);
  const env = stackAppEnv(settings);
  const cfg = loadConfig({ ...process.env, ...env });
  const maxRooms = Math.max(...roomCounts);
  const phases = roomCounts.length * (1 + frameSizes.length * 2);
  const talkSeconds = Math.ceil((phases * (ms + 6000)) / 1000) + 30;
  const names = Array.from({ length: maxRooms }, (_, i) => `frame-path-${Date.now()}-${i}`);
  const scripts = names.flatMap((n, i) => roomScript(n, i, talkSeconds).bots);
  for (const n of names) await roomService(cfg).createRoom({ name: n, emptyTimeout: 60 });
  const pool = new BotPool(scripts, Math.max(1, Math.ceil(scripts.length / 8)), '/tmp/frame-path-bots.log', 10);
  const run = await pool.start({ url: env.LIVEKIT_URL, apiKey: env.LIVEKIT_API_KEY, apiSecret: env.LIVEKIT_API_SECRET });
  await sleep(Math.max(0, run.epochMs - Date.now()));
  const rows: Row[] = [];
  try {
    for (const r of roomCounts) {
      const some = names.slice(0, r);
      const base = await measure(env, some, 'none', 10, ms);
      rows.push(base);
      for (const f of frameSizes) {
        for (const p of ['AudioStream', 'ffi-route'] as const) rows.push(await measure(env, some, p, f, ms));
      }
    }
  } finally {
    const late = await pool.stop(run);
    console.log(`bots: ${late.bots} in ${late.processes} processes, max ${late.maxBehindMs} ms behind`);
  }
  console.log('\n| rooms | frame ms | path | CPU ms per s | less baseline, per room-s | frames per s | µs per frame |');
  console.log('|---|---|---|---|---|---|---|');
  for (const row of rows) {
    const base = rows.find((x) => x.rooms === row.rooms && x.path === 'none')!;
    const extra = row.cpuMsPerS - base.cpuMsPerS;
    const perFrame = row.framesPerS ? ((extra / row.framesPerS) * 1000).toFixed(1) : '–';
    console.log(`| ${row.rooms} | ${row.path === 'none' ? '–' : row.frameMs} | ${row.path} | ${row.cpuMsPerS.toFixed(1)} | ${row.path === 'none' ? '–' : (extra / 1000 / row.rooms).toFixed(4)} | ${row.framesPerS.toFixed(0)} | ${row.path === 'none' ? '–' : perFrame} |`);
  }
}

runRtcBench(main);
