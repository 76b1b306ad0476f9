/**
 * Which receive statistic says when a track's audio arrived. Three speaker bots on one frame clock
 * (sample k of the script leaves at epoch + k/48000 s) — one present throughout, one that
 * re-publishes its microphone, one that leaves and rejoins — click every second; a witness
 * subscriber in its own process reads each track as the recorder does (same FFI path, playout time
 * = earliest arrival − samples before it) and its inbound-rtp stats every 100 ms. For every click it
 * prints how late its playout was against the send moment, and what is left of that lateness after
 * taking away each candidate delay: the jitter buffer's mean delay over the click's 200 ms, its
 * target delay, its minimum delay, the running mean since subscription, and the shift roomcast
 * applies (jitter-compensation.ts fed the same readings once a second). The candidate whose
 * remainder is the same for every click of every track tracks reality; its spread is what placement
 * by that candidate would leave between speakers.
 *
 *   npx tsx bench/placement.ts [--seconds 40] [--busy 1] [--runs 1] [--witnesses 1] [--save prefix]
 *   npx tsx bench/placement.ts --from prefix-1.json --from prefix-2.json   (the saved runs again, e.g. after changing jitter-compensation.ts)
 *
 * --busy N runs N busy-looping processes from 6 s to 9 s of each run (jitter, as a loaded host has).
 */
import { ChildProcess, fork, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { RemoteTrack, Room, RoomEvent, TrackKind } from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import { loadConfig } from '../src/config';
import { Program, tone } from '../src/demo/program';
import { SpeakerBot } from '../src/demo/speaker-bot';
import { openTrackAudio } from '../src/ingest/livekit/ffi-audio';
import { receiveStats, ReceiveStats } from '../src/ingest/livekit/receive-stats';
import { JitterCompensation, NOMINAL_DELAY } from '../src/ingest/pipeline/jitter-compensation';
import { COUNT_READ_EVERY_MS, CountCompensation } from './support/count-compensation';
import { SAMPLE_RATE } from '../src/ingest/pipeline/timeline';
import { roomService } from '../src/shared/livekit';
import { stackUp } from '../src/stack/stack';
import { stackAppEnv, stackSettings } from '../src/stack/settings';
import { runRtcBench } from './support/run-rtc';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const epochNow = () => performance.timeOrigin + performance.now();

interface Reading extends ReceiveStats {
  atMs: number;
}
interface WitnessTrack {
  identity: string;
  sid: string;
  /** Epoch ms at sample 0 of the track's stream (earliest arrival − samples before it). */
  anchorMs: number;
  onsets: number[];
  readings: Reading[];
}
type ToWitness = { type: 'join'; url: string; apiKey: string; apiSecret: string; room: string; identity: string } | { type: 'stop' };
type FromWitness = { type: 'joined' } | { type: 'tracks'; tracks: WitnessTrack[] };

/** A loud sample after 50 ms of quiet is a click's onset. */
const ONSET_LEVEL = 3000;
const QUIET_BEFORE = SAMPLE_RATE / 20;

async function witness(): Promise<void> {
  const tracks: WitnessTrack[] = [];
  const stops: Array<() => void> = [];
  const room = new Room();
  const onMsg = async (m: ToWitness) => {
    if (m.type === 'join') {
      room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack, pub, p) => {
        if (track.kind !== TrackKind.KIND_AUDIO) return;
        const t: WitnessTrack = { identity: p.identity, sid: pub.sid ?? '', anchorMs: Infinity, onsets: [], readings: [] };
        tracks.push(t);
        let count = 0;
        let quiet = 0;
        const reader = openTrackAudio(track, { sampleRate: SAMPLE_RATE, numChannels: 1, frameSizeMs: 10 }, (pcm) => {
          const at = epochNow();
          for (let i = 0; i < pcm.length; i++) {
            if (Math.abs(pcm[i]) >= ONSET_LEVEL) {
              if (quiet >= QUIET_BEFORE) t.onsets.push(count + i);
              quiet = 0;
            } else quiet++;
          }
          count += pcm.length;
          t.anchorMs = Math.min(t.anchorMs, at - (count / SAMPLE_RATE) * 1000);
        });
        if (!reader) throw new Error('rtc-node internals not as expected');
        const timer = setInterval(() => {
          void receiveStats(track).then((s) => s && t.readings.push({ ...s, atMs: epochNow() }), () => undefined);
        }, 100);
        const stop = () => {
          clearInterval(timer);
          reader.close();
        };
        stops.push(stop);
        // As the recorder does: LiveKit may hand a re-published track's audio to the old receiver.
        room.on(RoomEvent.TrackUnsubscribed, (_t, p2) => p2.sid === pub.sid && stop());
      });
      const at = new AccessToken(m.apiKey, m.apiSecret, { identity: m.identity, ttl: '1h' });
      at.addGrant({ room: m.room, roomJoin: true, canSubscribe: true, canPublish: false, hidden: true });
      await room.connect(m.url, await at.toJwt(), { autoSubscribe: true, dynacast: false });
      process.send!({ type: 'joined' } satisfies FromWitness);
    } else {
      for (const s of stops) s();
      await room.disconnect();
      process.send!({ type: 'tracks', tracks } satisfies FromWitness, undefined, undefined, () => process.exit(0));
    }
  };
  process.on('message', (m: ToWitness) => void onMsg(m));
}

interface Candidate {
  name: string;
  /** Delay (ms) this candidate says the click's audio spent in the receiver, or undefined. */
  delay: (t: WitnessTrack, playoutMs: number) => number | undefined;
}

/** Mean of a cumulative stat per emitted sample over the readings around an instant (ms). */
function windowMean(t: WitnessTrack, atMs: number, field: 'jitterBufferDelay' | 'jitterBufferTargetDelay' | 'jitterBufferMinimumDelay'): number | undefined {
  const before = [...t.readings].reverse().find((r) => r.atMs <= atMs - 50);
  const after = t.readings.find((r) => r.atMs >= atMs + 150);
  if (!before || !after) return undefined;
  const emitted = after.jitterBufferEmittedCount - before.jitterBufferEmittedCount;
  if (emitted <= 0) return undefined;
  return ((after[field] - before[field]) / emitted) * 1000;
}

/** The shift this build's recorder would have applied at an instant: jitter-compensation.ts fed readings at watchJitter's pace. */
function roomcastDelay(t: WitnessTrack, atMs: number): number | undefined {
  const comp = new JitterCompensation(Infinity);
  let shift: number | undefined;
  let next = t.readings[0]?.atMs + 1000;
  for (const r of t.readings) {
    if (r.atMs > atMs) break;
    if (r.atMs < next) continue;
    const s = comp.update(r);
    if (s !== undefined) shift = s;
    next = r.atMs + (comp.settled ? 1000 : 300);
  }
  return shift === undefined ? undefined : ((NOMINAL_DELAY - shift) / SAMPLE_RATE) * 1000;
}

/** The same for the experimental count-based rule (bench/support/count-compensation.ts), read every 250 ms. */
function countDelay(t: WitnessTrack, atMs: number): number | undefined {
  const comp = new CountCompensation(Infinity);
  let shift: number | undefined;
  let next = t.readings[0]?.atMs + COUNT_READ_EVERY_MS;
  for (const r of t.readings) {
    if (r.atMs > atMs) break;
    if (r.atMs < next) continue;
    const s = comp.update(r);
    if (s !== undefined) shift = s;
    next = r.atMs + COUNT_READ_EVERY_MS;
  }
  return shift === undefined ? undefined : ((NOMINAL_DELAY - shift) / SAMPLE_RATE) * 1000;
}

const CANDIDATES: Candidate[] = [
  { name: 'none (playout time)', delay: () => 0 },
  { name: 'jitterBufferDelay, 200 ms window', delay: (t, at) => windowMean(t, at, 'jitterBufferDelay') },
  {
    name: 'jitterBufferDelay, last 250 ms before (causal)',
    delay: (t, at) => {
      const before = t.readings.filter((r) => r.atMs <= at);
      const b = before[before.length - 1];
      const a = [...before].reverse().find((r) => r.atMs <= b.atMs - 250);
      if (!a || !b || b.jitterBufferEmittedCount <= a.jitterBufferEmittedCount) return undefined;
      return ((b.jitterBufferDelay - a.jitterBufferDelay) / (b.jitterBufferEmittedCount - a.jitterBufferEmittedCount)) * 1000;
    },
  },
  {
    // Audio NetEq added (stretching, concealment) or took away (acceleration) since subscription.
    name: 'net time-stretch since subscription',
    delay: (t, at) => {
      const r = [...t.readings].reverse().find((x) => x.atMs <= at + 50);
      return r && ((r.insertedSamplesForDeceleration + r.concealedSamples - r.removedSamplesForAcceleration) / SAMPLE_RATE) * 1000;
    },
  },
  {
    name: 'net time-stretch without concealment (inserted − removed)',
    delay: (t, at) => {
      const r = [...t.readings].reverse().find((x) => x.atMs <= at + 50);
      return r && ((r.insertedSamplesForDeceleration - r.removedSamplesForAcceleration) / SAMPLE_RATE) * 1000;
    },
  },
  { name: 'jitterBufferTargetDelay, 200 ms window', delay: (t, at) => windowMean(t, at, 'jitterBufferTargetDelay') },
  { name: 'jitterBufferMinimumDelay, 200 ms window', delay: (t, at) => windowMean(t, at, 'jitterBufferMinimumDelay') },
  {
    name: 'jitterBufferDelay, mean since subscription',
    delay: (t, at) => {
      const r = [...t.readings].reverse().find((x) => x.atMs <= at);
      return r && r.jitterBufferEmittedCount ? (r.jitterBufferDelay / r.jitterBufferEmittedCount) * 1000 : undefined;
    },
  },
  { name: 'roomcast (jitter-compensation.ts of this build)', delay: roomcastDelay },
  { name: 'experimental count rule (bench/support/count-compensation.ts)', delay: countDelay },
  {
    // The sender's capture clock (RTCP sender reports; the bots share this machine's clock): what
    // is left is the sender's own queue before its audio entered WebRTC.
    name: 'now − estimatedPlayoutTimestamp (sender clock, diagnostic)',
    delay: (t, at) => {
      const near = t.readings.filter((r) => r.estimatedPlayoutTimestamp > 0 && Math.abs(r.atMs - at) <= 300);
      if (!near.length) return undefined;
      const ntpToUnix = (v: number) => (v > 3e12 ? v - 2_208_988_800_000 : v);
      const d = near.map((r) => r.atMs - ntpToUnix(r.estimatedPlayoutTimestamp)).sort((a, b) => a - b);
      return d[Math.floor(d.length / 2)];
    },
  },
];

interface Script {
  identity: string;
  freq: number;
  /** ms within each second at which this bot clicks. */
  phase: number;
}
const SCRIPTS: Script[] = [
  { identity: 'steady', freq: 600, phase: 0 },
  { identity: 'republish', freq: 1100, phase: 333 },
  { identity: 'rejoin', freq: 1900, phase: 666 },
];

interface Observed {
  epoch: number;
  seen: WitnessTrack[][];
}

async function oneRun(run: number, seconds: number, busy: number, witnesses: number): Promise<Observed> {
  const settings = stackSettings();
  const env = stackAppEnv(settings);
  const cfg = loadConfig({ ...process.env, ...env });
  const name = `placement-${Date.now()}`;
  await roomService(cfg).createRoom({ name, emptyTimeout: 30 });
  const children: ChildProcess[] = Array.from({ length: witnesses }, () => fork(__filename, ['--witness'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const fromChild = (child: ChildProcess, type: FromWitness['type']) => new Promise<FromWitness>((resolve) => child.on('message', (m: FromWitness) => m.type === type && resolve(m)));
  await Promise.all(
    children.map((child, i) => {
      const joined = fromChild(child, 'joined');
      child.send({ type: 'join', url: env.LIVEKIT_URL, apiKey: env.LIVEKIT_API_KEY, apiSecret: env.LIVEKIT_API_SECRET, room: name, identity: `witness-${i + 1}` } satisfies ToWitness);
      return joined;
    }),
  );
  const epoch = Date.now() + 1500;
  const clicks = (s: Script) => Array.from({ length: seconds }, (_, k) => k * 1000 + s.phase);
  const bots = new Map(
    SCRIPTS.map((s) => [
      s.identity,
      new SpeakerBot(
        { url: env.LIVEKIT_URL, apiKey: env.LIVEKIT_API_KEY, apiSecret: env.LIVEKIT_API_SECRET, room: name, identity: s.identity, name: s.identity, dtx: false },
        new Program(clicks(s).map((atMs) => ({ atMs, pcm: tone(s.freq, 120, -12) }))),
        epoch,
      ),
    ]),
  );
  for (const b of bots.values()) await b.join();
  const at = (ms: number) => sleep(epoch + ms - Date.now());
  const busyUntil = async () => {
    await at(6_000);
    const procs = Array.from({ length: busy }, () => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
    await at(9_000);
    for (const p of procs) p.kill('SIGKILL');
  };
  const load = busyUntil();
  await at(12_100);
  await bots.get('republish')!.republish();
  await at(14_800);
  await bots.get('rejoin')!.leave();
  await at(16_800);
  await bots.get('rejoin')!.join();
  await at(seconds * 1000 + 500);
  await load;
  await Promise.all([...bots.values()].map((b) => b.leave()));
  for (const [id, b] of bots) if (b.maxBehind > 3 * 480 || b.skipped.length) console.log(`run ${run}: bot ${id} lagged ${(b.maxBehind / 48).toFixed(0)} ms, skipped ${JSON.stringify(b.skipped)}`);
  const got = children.map((child) => fromChild(child, 'tracks'));
  for (const child of children) child.send({ type: 'stop' } satisfies ToWitness);
  const seen = (await Promise.all(got)).map((m) => (m as Extract<FromWitness, { type: 'tracks' }>).tracks);
  await roomService(cfg).deleteRoom(name).catch(() => undefined);
  return { epoch, seen };
}

type Row = { witness: number; identity: string; sid: string; atMs: number; lag: number; delays: Array<number | undefined> };

/** Every click each witness heard: its playout lag behind its send moment and each candidate's delay then. */
function analyse({ epoch, seen }: Observed): Row[] {
  const rows: Row[] = [];
  for (const [w, tracks] of seen.entries()) {
    for (const t of tracks) {
      const s = SCRIPTS.find((x) => x.identity === t.identity)!;
      for (const onset of t.onsets) {
        const playout = t.anchorMs + (onset / SAMPLE_RATE) * 1000;
        const sentAt = Math.round((playout - epoch - s.phase) / 1000) * 1000 + s.phase;
        const lag = playout - (epoch + sentAt);
        if (lag < -20 || lag > 500) continue;
        rows.push({ witness: w + 1, identity: t.identity, sid: t.sid, atMs: sentAt, lag, delays: CANDIDATES.map((c) => c.delay(t, playout)) });
      }
    }
  }
  return rows.sort((a, b) => a.atMs - b.atMs);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '40' },
      busy: { type: 'string', default: '1' },
      runs: { type: 'string', default: '1' },
      witnesses: { type: 'string', default: '1' },
      save: { type: 'string' },
      from: { type: 'string', multiple: true },
      witness: { type: 'boolean', default: false },
    },
  });
  if (values.witness) return witness();
  const seconds = Number(values.seconds);
  const busy = Number(values.busy);
  if (!(seconds >= 20) || !(busy >= 0)) throw new Error('--seconds takes at least 20, --busy a count');
  const saved = values.from ?? [];
  const runs = saved.length || Number(values.runs);
  if (!saved.length) await stackUp(stackSettings());
  const spreads: number[][] = CANDIDATES.map(() => []);
  const worst: number[][] = CANDIDATES.map(() => []);
  for (let run = 1; run <= runs; run++) {
    let observed: Observed;
    if (saved.length) observed = JSON.parse(readFileSync(saved[run - 1], 'utf8')) as Observed;
    else {
      observed = await oneRun(run, seconds, busy, Number(values.witnesses));
      if (values.save) writeFileSync(`${values.save}-${run}.json`, JSON.stringify(observed));
    }
    const all = analyse(observed);
    const rows = all.filter((r) => r.witness === 1);
    console.log(`\n## Run ${run}: lag of each click's playout behind its send moment, and what each candidate leaves of it (ms)\n`);
    console.log(`| click | track | playout lag | ${CANDIDATES.slice(1).map((c) => c.name).join(' | ')} |`);
    console.log(`|---|---|---|${CANDIDATES.slice(1).map(() => '---').join('|')}|`);
    for (const r of rows) console.log(`| ${r.identity}@${r.atMs} | ${r.sid.slice(-6)} | ${r.lag.toFixed(1)} | ${r.delays.slice(1).map((d) => (d === undefined ? '–' : `${(r.lag - d).toFixed(1)} (${d.toFixed(1)})`)).join(' | ')} |`);
    if (Number(values.witnesses) > 1) {
      // The same track seen by two subscribers: a remainder both share is the sender's or the network's.
      console.log('\nMedian remainder after the 200 ms jitterBufferDelay, per track and witness (ms):');
      const jbd = CANDIDATES.findIndex((c) => c.name.startsWith('jitterBufferDelay, 200'));
      for (const sid of [...new Set(all.map((r) => r.sid))]) {
        const per = [...new Set(all.map((r) => r.witness))].map((w) => {
          const v = all.filter((r) => r.sid === sid && r.witness === w && r.delays[jbd] !== undefined).map((r) => r.lag - r.delays[jbd]!).sort((a, b) => a - b);
          return v.length ? v[Math.floor(v.length / 2)].toFixed(1) : '–';
        });
        console.log(`- ${all.find((r) => r.sid === sid)!.identity} ${sid.slice(-6)}: ${per.join(' / ')}`);
      }
    }
    console.log(`\nWhat each candidate leaves, over every click of every track: spread (max − min) and the worst click against the first click (ms):`);
    CANDIDATES.forEach((c, i) => {
      const rem = rows.map((r) => (r.delays[i] === undefined ? undefined : r.lag - r.delays[i]!)).filter((v): v is number => v !== undefined);
      const spread = rem.length ? Math.max(...rem) - Math.min(...rem) : NaN;
      const vsFirst = rem.length ? Math.max(...rem.map((v) => Math.abs(v - rem[0]))) : NaN;
      spreads[i].push(spread);
      worst[i].push(vsFirst);
      console.log(`- ${c.name}: spread ${spread.toFixed(1)}, worst vs first ${vsFirst.toFixed(1)} (${rem.length} of ${rows.length} clicks)`);
    });
  }
  if (runs > 1) {
    console.log('\n## Per run: spread / worst against the first click (ms)\n');
    CANDIDATES.forEach((c, i) => console.log(`- ${c.name}: ${spreads[i].map((s, k) => `${s.toFixed(1)} / ${worst[i][k].toFixed(1)}`).join(', ')}`));
  }
}

if (process.argv.includes('--witness')) void main();
else runRtcBench(main);
