/**
 * What reading a track's receive stats costs (the ingest's jitter-buffer compensation reads each
 * track's once a second): 4 speaker bots and a subscriber in this process on the local stack; the
 * process's CPU (all threads) while calling the FFI's per-track GetStats in a loop, and the room's
 * getRtcStats() in a loop, each for --seconds, less an idle baseline of the same length.
 *
 *   npx tsx bench/track-stats-cost.ts [--seconds 5]
 */
import { parseArgs } from 'node:util';
import { AudioStream, RemoteTrack, Room, RoomEvent, TrackKind } from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import { loadConfig } from '../src/config';
import { Program, tone } from '../src/demo/program';
import { SpeakerBot } from '../src/demo/speaker-bot';
import { receiveStats } from '../src/ingest/livekit/receive-stats';
import { SAMPLE_RATE } from '../src/ingest/pipeline/timeline';
import { roomService } from '../src/shared/livekit';
import { stackUp } from '../src/stack/stack';
import { stackAppEnv, stackSettings } from '../src/stack/settings';
import { runRtcBench } from './support/run-rtc';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '5' } } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Process CPU (ms) over `ms` of wall time while `work` runs back to back, and how many times it ran. */
async function cpuOver(ms: number, work: () => Promise<unknown>): Promise<{ cpuMs: number; calls: number }> {
  const t0 = process.cpuUsage();
  const end = Date.now() + ms;
  let calls = 0;
  while (Date.now() < end) {
    await work();
    calls++;
  }
  const u = process.cpuUsage(t0);
  return { cpuMs: (u.user + u.system) / 1000, calls };
}

async function main(): Promise<void> {
  const ms = Number(values.seconds) * 1000;
  if (!(ms > 0)) throw new Error('--seconds takes a positive number');
  const settings = stackSettings();
  await stackUp(settings);
  const env = stackAppEnv(settings);
  const cfg = loadConfig({ ...process.env, ...env });
  const name = `stats-cost-${Date.now()}`;
  await roomService(cfg).createRoom({ name, emptyTimeout: 30 });
  const epoch = Date.now() + 1000;
  const cues = Array.from({ length: 600 }, (_, k) => ({ atMs: k * 1000, pcm: tone(440, 300) }));
  const bots = ['a', 'b', 'c', 'd'].map(
    (id) => new SpeakerBot({ url: env.LIVEKIT_URL, apiKey: env.LIVEKIT_API_KEY, apiSecret: env.LIVEKIT_API_SECRET, room: name, identity: id, name: id }, new Program(cues), epoch),
  );
  for (const b of bots) await b.join();
  const at = new AccessToken(env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET, { identity: 'stats-reader', ttl: '1h' });
  at.addGrant({ room: name, roomJoin: true, canSubscribe: true, canPublish: false, hidden: true });
  const room = new Room();
  const tracks: RemoteTrack[] = [];
  room.on(RoomEvent.TrackSubscribed, (t: RemoteTrack) => {
    if (t.kind !== TrackKind.KIND_AUDIO) return;
    tracks.push(t);
    // Drained as the ingest would, so the receive path runs as it does there.
    const stream = new AudioStream(t, { sampleRate: SAMPLE_RATE, numChannels: 1 });
    void (async () => {
      for await (const _frame of stream as unknown as AsyncIterable<unknown>) void _frame;
    })();
  });
  await room.connect(env.LIVEKIT_URL, await at.toJwt(), { autoSubscribe: true, dynacast: false });
  while (tracks.length < bots.length) await sleep(100);
  await sleep(2000);
  const idle = await cpuOver(ms, () => sleep(50));
  const perTrack = await cpuOver(ms, () => receiveStats(tracks[0]));
  const perRoom = await cpuOver(ms, () => room.getRtcStats());
  const each = (r: { cpuMs: number; calls: number }) => (r.cpuMs - idle.cpuMs) / r.calls;
  const trackMs = each(perTrack);
  console.log(`idle: ${((idle.cpuMs / ms) * 1000).toFixed(1)} ms CPU per s (4 bots + subscriber)`);
  console.log(`per-track GetStats: ${perTrack.calls} calls, ${trackMs.toFixed(3)} ms CPU each`);
  console.log(`room getRtcStats:   ${perRoom.calls} calls, ${each(perRoom).toFixed(3)} ms CPU each`);
  console.log(`ingest at one read per track per second, 4 speakers: ${((4 * trackMs) / 1000).toFixed(4)} CPU-s per room-second`);
  await room.disconnect();
  for (const b of bots) await b.leave();
}

runRtcBench(main);
