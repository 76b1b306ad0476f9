import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../src/stack/settings';
import { stopChild } from '../../test/support/roomcast-process';
import { sleep } from './s3-watch';

/** A `roomcast start --role …` process as an operator runs it (bin/roomcast → dist/), logging to a file. */
export class Roomcast {
  private child: ChildProcess | undefined;
  exited = false;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(
    readonly name: string,
    readonly env: Record<string, string>,
    readonly roles: string[],
    readonly logFile: string,
    /** Flags for node itself (before the script), e.g. --cpu-prof. */
    readonly nodeArgs: string[] = [],
    /** Whose bin/roomcast runs: this checkout, or a baseline build (builds.ts). */
    readonly root: string = ROOT,
  ) {}

  get pid(): number {
    if (!this.child?.pid) throw new Error(`${this.name} is not running`);
    return this.child.pid;
  }

  /** Starts it and waits for its "roomcast started" log line. */
  async start(timeoutMs = 30_000): Promise<void> {
    if (!existsSync(path.join(this.root, 'dist', 'cli', 'main.js'))) throw new Error(`${this.root}/dist is missing: run scripts/setup.sh (or npm run build) first`);
    const log = openSync(this.logFile, 'a');
    const from = readSize(this.logFile);
    const args = [...this.nodeArgs, path.join(this.root, 'bin', 'roomcast'), 'start', ...this.roles.flatMap((r) => ['--role', r])];
    const child = spawn(process.execPath, args, { env: { ...process.env, ...this.env }, stdio: ['ignore', log, log], cwd: ROOT });
    this.child = child;
    child.on('exit', (code, signal) => {
      this.exited = true;
      this.exit = { code, signal };
    });
    const end = Date.now() + timeoutMs;
    while (!readFileSync(this.logFile, 'utf8').slice(from).includes('roomcast started')) {
      if (this.exited) throw new Error(`${this.name} exited at start (${JSON.stringify(this.exit)}); see ${this.logFile}`);
      if (Date.now() > end) throw new Error(`${this.name} did not start within ${timeoutMs} ms; see ${this.logFile}`);
      await sleep(100);
    }
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `timeoutMs`). */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<void> {
    if (this.child && !this.exited) await stopChild(this.child, signal, timeoutMs);
  }
}

function readSize(file: string): number {
  try {
    return readFileSync(file, 'utf8').length;
  } catch {
    return 0;
  }
}

/**
 * Kills, by pid, processes from a list that are still alive and whose command line holds `marker`
 * (e.g. FFmpeg orphans of a SIGKILLed ingest, which name this run's spool folder): a pid reused by
 * someone else's process is never touched.
 */
export function killLeftovers(pids: Iterable<number>, marker: string): number[] {
  const killed: number[] = [];
  for (const pid of pids) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) continue;
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // already gone
    }
  }
  return killed;
}
