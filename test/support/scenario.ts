import { RoomServiceClient } from 'livekit-server-sdk';
import IORedis from 'ioredis';
import { Cue, Program, tone } from '../../src/demo/program';
import { SpeakerBot } from '../../src/demo/speaker-bot';
import { ActiveRecording, Control } from '../../src/shared/control';

export interface Burst {
  speaker: string;
  freq: number;
  atMs: number;
  durMs: number;
  dbfs: number;
  /** Expected silent (the host muted the speaker). */
  muted?: boolean;
}

export interface ScenarioSpeaker {
  identity: string;
  freq: number;
  /** [joinMs, leaveMs] intervals on the script clock. */
  presence: Array<[number, number]>;
}

export interface ScenarioEvent {
  atMs: number;
  action: 'mute' | 'unmute';
  identity: string;
}

export interface ScenarioResult {
  epochMs: number;
  active: ActiveRecording;
  createdAtMs: number;
  endedAtMs: number;
}

/**
 * Runs speaker bots (real rtc-node participants) through a script of tone bursts, joins, leaves and
 * host mutes in a fresh room, then deletes the room. `during` runs while the room is live.
 */
export async function runScenario(o: {
  env: Record<string, string>;
  room: string;
  speakers: ScenarioSpeaker[];
  bursts: Burst[];
  events: ScenarioEvent[];
  endMs: number;
  dtx?: boolean;
  /** What each speaker says, instead of tone bursts. */
  cues?: Record<string, Cue[]>;
  during?: (stop: () => boolean, epochMs: number) => Promise<void>;
  /** Room metadata, e.g. {"roomcast":{"visibility":"private"}}. */
  metadata?: string;
  /** Leave the room to LiveKit when everyone has left (its departure timeout), rather than delete it as a host app does. */
  keepRoom?: boolean;
  /** Starts the recording by hand once the room exists (with metadata that turns auto-recording off). */
  start?: () => Promise<void>;
}): Promise<ScenarioResult> {
  const { env } = o;
  const rooms = new RoomServiceClient(env.LIVEKIT_URL.replace(/^ws/, 'http'), env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET);
  const redis = new IORedis(env.REDIS_URL);
  const control = new Control(redis, env.QUEUE_PREFIX);
  const createdAtMs = Date.now();
  await rooms.createRoom({ name: o.room, emptyTimeout: 120, metadata: o.metadata });
  await o.start?.();
  let active: ActiveRecording | null = null;
  while (!active) {
    if (Date.now() - createdAtMs > 15_000) throw new Error('no recorder joined within 15 s');
    active = await control.getActive(o.room);
    if (!active) await sleep(50);
  }
  const epochMs = Date.now() + 1500;
  const bots = new Map<string, SpeakerBot>();
  for (const s of o.speakers) {
    const cues = o.cues?.[s.identity] ?? o.bursts.filter((b) => b.speaker === s.identity).map((b) => ({ atMs: b.atMs, pcm: tone(s.freq, b.durMs, b.dbfs) }));
    bots.set(
      s.identity,
      new SpeakerBot(
        { url: env.LIVEKIT_URL, apiKey: env.LIVEKIT_API_KEY, apiSecret: env.LIVEKIT_API_SECRET, room: o.room, identity: s.identity, name: `Bot ${s.identity}`, dtx: o.dtx },
        new Program(cues),
        epochMs,
      ),
    );
  }
  type Step = { atMs: number; run: () => Promise<unknown> };
  const steps: Step[] = [];
  for (const s of o.speakers) {
    const bot = bots.get(s.identity)!;
    for (const [join, leave] of s.presence) {
      steps.push({ atMs: join, run: () => bot.join() });
      steps.push({ atMs: leave, run: () => bot.leave() });
    }
  }
  for (const e of o.events) {
    steps.push({
      atMs: e.atMs,
      run: () => rooms.mutePublishedTrack(o.room, e.identity, bots.get(e.identity)!.trackSid!, e.action === 'mute'),
    });
  }
  steps.sort((a, b) => a.atMs - b.atMs);
  let done = false;
  const watcher = o.during?.(() => done, epochMs);
  try {
    for (const step of steps) {
      await sleep(epochMs + step.atMs - Date.now());
      await step.run();
    }
    await sleep(epochMs + o.endMs - Date.now());
  } finally {
    await Promise.all([...bots.values()].map((b) => b.leave().catch(() => undefined)));
  }
  const endedAtMs = Date.now();
  for (const [id, b] of bots) console.log(`bot ${id}: pump lagged up to ${(b.maxBehind / 48).toFixed(1)} ms`);
  if (!o.keepRoom) await rooms.deleteRoom(o.room);
  done = true;
  await watcher;
  redis.disconnect();
  return { epochMs, active, createdAtMs, endedAtMs };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
