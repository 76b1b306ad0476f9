import { ChildProcess, fork } from 'node:child_process';
import { openSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../../src/stack/settings';
import type { WorkerGo, WorkerJoined, WorkerStart, WorkerStats } from './bot-worker';
import type { BotScript } from './script';

export interface BotRun {
  epochMs: number;
  joins: WorkerJoined['joins'];
}

export interface BotLateness {
  processes: number;
  nice: number;
  bots: number;
  failedJoins: number;
  /** Longest join of one bot (ms); all bots join before the epoch is set. */
  maxJoinMs: number;
  /** Largest lag of any bot's audio pump behind the wall clock; over 30 ms, SpeakerBot skips audio. */
  maxBehindMs: number;
  botsOver30Ms: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** CPU of the bot processes from the epoch to the stop, and per room-second of audio. */
  cpuS: number;
}

/** Speaker bots spread over a few child processes (bot-worker.ts), started from one epoch. */
export class BotPool {
  private readonly children: ChildProcess[] = [];
  private readonly shares: BotScript[][] = [];
  private joinStartMs = 0;

  constructor(
    private readonly scripts: BotScript[],
    private readonly processes: number,
    private readonly logFile: string,
    /** Niceness of the bot processes: 0 shares the CPU evenly with the ingest; −10 puts the bots first (as the tests do), 10 the ingest. */
    private readonly nice = 0,
  ) {
    for (let i = 0; i < processes; i++) this.shares.push([]);
    scripts.forEach((s, i) => this.shares[i % processes].push(s));
  }

  /** Forks the workers, waits until every bot has joined, then starts the scripts at an epoch `leadMs` ahead. */
  async start(lk: WorkerStart['lk'], joinConcurrency = 4, leadMs = 1500): Promise<BotRun> {
    const log = openSync(this.logFile, 'a');
    this.joinStartMs = Date.now();
    const joined = this.shares.map((bots) => {
      const child = fork(path.join(__dirname, 'bot-worker.ts'), [], {
        execArgv: ['--import', 'tsx'],
        cwd: ROOT,
        stdio: ['ignore', log, log, 'ipc'],
        env: { ...process.env, NODE_ENV: 'production' },
      });
      this.children.push(child);
      if (child.pid && this.nice !== 0) os.setPriority(child.pid, this.nice);
      return new Promise<WorkerJoined['joins']>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`bot worker exited (${code}) before joining; see ${this.logFile}`)));
        child.on('message', (m: WorkerJoined | WorkerStats) => {
          if (m.type === 'joined') resolve(m.joins);
        });
        const msg: WorkerStart = { type: 'start', lk, bots, joinConcurrency };
        child.send(msg);
      });
    });
    const joins = (await Promise.all(joined)).flat();
    const go: WorkerGo = { type: 'go', epochMs: Date.now() + leadMs };
    for (const c of this.children) c.send(go);
    return { epochMs: go.epochMs, joins };
  }

  /** The bots leave; returns how well they kept real time. */
  async stop(run: BotRun): Promise<BotLateness> {
    const stats = await Promise.all(
      this.children.map(
        (child) =>
          new Promise<WorkerStats | null>((resolve) => {
            const timer = setTimeout(() => {
              child.kill('SIGKILL');
              resolve(null);
            }, 20_000);
            child.on('message', (m: WorkerJoined | WorkerStats) => {
              if (m.type === 'stats') {
                clearTimeout(timer);
                resolve(m);
              }
            });
            child.once('exit', () => resolve(null));
            child.send({ type: 'stop' });
          }),
      ),
    );
    await Promise.all(this.children.map((c) => (c.exitCode !== null || c.signalCode ? Promise.resolve() : new Promise((r) => c.once('exit', r)))));
    const all = stats.flatMap((s) => s?.bots ?? []);
    return {
      processes: this.processes,
      nice: this.nice,
      bots: this.scripts.length,
      failedJoins: run.joins.filter((j) => j.error).length,
      maxJoinMs: Math.max(0, ...run.joins.map((j) => j.joinedAtMs - this.joinStartMs)),
      maxBehindMs: Math.max(0, ...all.map((b) => b.maxBehindMs)),
      botsOver30Ms: all.filter((b) => b.maxBehindMs > 30).length,
      loopDelayP99Ms: Math.max(0, ...stats.map((s) => s?.loopDelayP99Ms ?? 0)),
      loopDelayMaxMs: Math.max(0, ...stats.map((s) => s?.loopDelayMaxMs ?? 0)),
      cpuS: stats.reduce((a, s) => a + (s?.cpuS ?? 0), 0),
    };
  }

  /** Ends every worker at once (on an error path). */
  kill(): void {
    for (const c of this.children) if (c.exitCode === null && !c.signalCode) c.kill('SIGKILL');
  }
}
