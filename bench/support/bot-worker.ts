/**
 * A child process of the ingest bench that runs some of the speaker bots (real rtc-node
 * participants, src/demo/speaker-bot.ts), so their CPU is never counted as the ingest's. Driven
 * over the fork IPC channel: 'start' (join every bot; they send silence) → 'joined'; 'go' (the
 * script starts at a shared epoch, set once every bot of every worker has joined); 'stop' (leave)
 * → 'stats' (how late the bots' audio pumps and event loop ran since the epoch), then it exits.
 */
import { dispose } from '@livekit/rtc-node';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Program, tone } from '../../src/demo/program';
import { SpeakerBot } from '../../src/demo/speaker-bot';
import { SAMPLE_RATE } from '../../src/contracts/audio';
import type { BotScript } from './script';

export interface WorkerStart {
  type: 'start';
  lk: { url: string; apiKey: string; apiSecret: string };
  bots: BotScript[];
  joinConcurrency: number;
}
export interface WorkerGo {
  type: 'go';
  epochMs: number;
}
export interface WorkerJoined {
  type: 'joined';
  joins: Array<{ room: string; identity: string; joinedAtMs: number; error?: string }>;
}
export interface WorkerStats {
  type: 'stats';
  bots: Array<{ room: string; identity: string; maxBehindMs: number }>;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  cpuS: number;
}
type Msg = WorkerStart | WorkerGo | { type: 'stop' };

const send = (m: WorkerJoined | WorkerStats) => new Promise<void>((resolve) => (process.send ? process.send(m, undefined, undefined, () => resolve()) : resolve()));
/** A script that stays silent until its epoch is known, then plays from it (the bot's pump runs from `joinEpochMs`). */
class DeferredProgram extends Program {
  private shift: number | undefined;

  start(epochMs: number, joinEpochMs: number): void {
    this.shift = Math.round(((epochMs - joinEpochMs) * SAMPLE_RATE) / 1000);
  }

  override render(from: number, n: number): Int16Array {
    return this.shift === undefined ? new Int16Array(n) : super.render(from - this.shift, n);
  }
}

const joinEpochMs = Date.now();
const bots: SpeakerBot[] = [];
const programs: DeferredProgram[] = [];
const loop = monitorEventLoopDelay({ resolution: 10 });
let cpuAtEpoch = process.cpuUsage();

async function start(m: WorkerStart): Promise<void> {
  const tones = new Map<string, Int16Array>();
  const pcm = (freq: number, durMs: number, dbfs: number) => {
    const k = `${freq}/${durMs}/${dbfs}`;
    if (!tones.has(k)) tones.set(k, tone(freq, durMs, dbfs));
    return tones.get(k)!;
  };
  for (const b of m.bots) {
    const program = new DeferredProgram(b.cues.map((c) => ({ atMs: c.atMs, pcm: pcm(c.freq, c.durMs, c.dbfs) })));
    programs.push(program);
    // 100 ms per FFI call instead of 10: the bots are the load, not what is measured (issue 15: 16 bots did not keep real time at N=4).
    bots.push(new SpeakerBot({ ...m.lk, room: b.room, identity: b.identity, name: b.name, dtx: true, frameMs: 100 }, program, joinEpochMs));
  }
  const joins: WorkerJoined['joins'] = [];
  let next = 0;
  const joinOne = async (): Promise<void> => {
    while (next < bots.length) {
      const bot = bots[next++];
      try {
        await bot.join();
        joins.push({ room: bot.o.room, identity: bot.o.identity, joinedAtMs: Date.now() });
      } catch (err) {
        joins.push({ room: bot.o.room, identity: bot.o.identity, joinedAtMs: Date.now(), error: String(err) });
      }
    }
  };
  await Promise.all(Array.from({ length: m.joinConcurrency }, joinOne));
  await send({ type: 'joined', joins });
}

function go(m: WorkerGo): void {
  for (const p of programs) p.start(m.epochMs, joinEpochMs);
  // Lateness counts from the epoch on, not during the joins.
  setTimeout(() => {
    for (const b of bots) b.maxBehind = 0;
    loop.reset();
    loop.enable();
    cpuAtEpoch = process.cpuUsage();
  }, Math.max(0, m.epochMs - Date.now()));
}

async function stop(): Promise<void> {
  loop.disable();
  const cpu = process.cpuUsage(cpuAtEpoch);
  await Promise.allSettled(bots.map((b) => b.leave()));
  await send({
    type: 'stats',
    bots: bots.map((b) => ({ room: b.o.room, identity: b.o.identity, maxBehindMs: (b.maxBehind / SAMPLE_RATE) * 1000 })),
    loopDelayP99Ms: loop.percentile(99) / 1e6,
    loopDelayMaxMs: loop.max / 1e6,
    cpuS: (cpu.user + cpu.system) / 1e6,
  });
  await dispose();
  process.exit(0);
}

process.on('message', (m: Msg) => {
  if (m.type === 'go') return go(m);
  const run = m.type === 'start' ? start(m) : stop();
  run.catch((err) => {
    console.error(err);
    process.exit(1);
  });
});
process.on('disconnect', () => process.exit(0));
// rtc-node can throw from a native handle's clean-up ("trying to drop an invalid handle") when a
// join fails on a starved machine (20 rooms × 4 bots on 2 cores): that bot counts as failed, the
// others go on; the worker dying would abort the whole bench.
process.on('uncaughtException', (err) => console.error('bot worker: uncaught (going on):', err));
