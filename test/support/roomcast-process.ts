import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { portOpen, waitFor } from '../../src/stack/daemon';
import { ARTIFACTS, ROOT } from './env';

/** Runs the built roomcast CLI as a real child process (as an operator would) and stops it. */
export class RoomcastProcess {
  private child: ChildProcess | undefined;
  exitCode: number | null = null;
  exited = false;

  constructor(
    readonly name: string,
    readonly env: Record<string, string>,
    readonly roles: string[] = [],
  ) {}

  async start(): Promise<void> {
    mkdirSync(ARTIFACTS, { recursive: true });
    const log = openSync(path.join(ARTIFACTS, `${this.name}.log`), 'a');
    // ROOMCAST_NODE_ARGS: flags for node itself (a bench's --cpu-prof, which NODE_OPTIONS refuses).
    const nodeArgs = (this.env.ROOMCAST_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const args = [...nodeArgs, path.join(ROOT, 'bin', 'roomcast'), 'start', ...this.roles.flatMap((r) => ['--role', r])];
    this.child = spawn(process.execPath, args, { env: { ...process.env, ...this.env }, stdio: ['ignore', log, log] });
    // Level with the test clients and LiveKit (client-priority.ts, global-setup.ts): in production the
    // recorder has its host's CPU, and on two shared cores whoever runs below the rest is starved
    // when a client joins, which is not what the tests measure. Starved (at 0 while the rest ran at
    // −10) its network thread stalled, NetEq buffered 100–160 ms deeper and bursts after a rejoin
    // came up to 200 ms late (ARCHITECTURE, Timing model). ROOMCAST_TEST_SUT_NICE=0 shows it again.
    try {
      if (this.child.pid) os.setPriority(this.child.pid, Number(process.env.ROOMCAST_TEST_SUT_NICE ?? -10));
    } catch {
      // not allowed: it keeps the test process's priority
    }
    this.child.on('exit', (code) => {
      this.exitCode = code;
      this.exited = true;
    });
    if (this.roles.length === 0 || this.roles.includes('api')) {
      await waitFor(`roomcast ${this.name}`, async () => {
        if (this.exited) throw new Error(`roomcast ${this.name} exited (${this.exitCode}); see test-artifacts/${this.name}.log`);
        return portOpen(Number(this.env.API_PORT));
      }, 20_000);
    }
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<void> {
    if (this.child && !this.exited) await stopChild(this.child, signal, timeoutMs);
  }
}

/** Sends `signal` to a child and waits for its exit (SIGKILL after `timeoutMs`). */
export async function stopChild(c: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill(signal);
  const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}
