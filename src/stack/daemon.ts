import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** A background service of the local stack: started detached, tracked by a pid file, idempotent. */
export interface DaemonSpec {
  name: string;
  command: string;
  args: string[];
  port: number;
  runDir: string;
  env?: NodeJS.ProcessEnv;
}

const pidFile = (d: Pick<DaemonSpec, 'name' | 'runDir'>) => path.join(d.runDir, `${d.name}.pid`);

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function daemonPid(d: Pick<DaemonSpec, 'name' | 'runDir'>): number | undefined {
  const f = pidFile(d);
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').trim());
  return pid > 0 && alive(pid) ? pid : undefined;
}

export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms`);
}

/** Starts the daemon unless it already runs; returns its pid. */
export async function startDaemon(d: DaemonSpec): Promise<number> {
  const running = daemonPid(d);
  if (running) return running;
  if (await portOpen(d.port)) {
    throw new Error(`${d.name}: port ${d.port} is taken by another program; pick another port (see README, Configuration)`);
  }
  mkdirSync(d.runDir, { recursive: true });
  const logFile = path.join(d.runDir, `${d.name}.log`);
  const out = openSync(logFile, 'a');
  const child = spawn(d.command, d.args, {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, ...d.env },
  });
  if (!child.pid) throw new Error(`${d.name}: could not start ${d.command}`);
  child.unref();
  writeFileSync(pidFile(d), String(child.pid));
  try {
    await waitFor(`${d.name} on port ${d.port}`, async () => {
      if (!alive(child.pid!)) throw new Error(`${d.name} exited at start; see ${logFile}`);
      return portOpen(d.port);
    }, 30_000);
  } catch (err) {
    await stopDaemon(d);
    throw err;
  }
  return child.pid;
}

export async function stopDaemon(d: Pick<DaemonSpec, 'name' | 'runDir'>, signal: NodeJS.Signals = 'SIGTERM'): Promise<boolean> {
  const pid = daemonPid(d);
  rmSync(pidFile(d), { force: true });
  if (!pid) return false;
  process.kill(pid, signal);
  const end = Date.now() + 10_000;
  while (alive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  return true;
}
