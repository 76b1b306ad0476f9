import os from 'node:os';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import IORedis from 'ioredis';
import { alive, daemonPid } from '../../src/stack/daemon';
import { stackDown, stackUp } from '../../src/stack/stack';
import { RoomcastProcess } from './roomcast-process';
import { testAppEnv, testSettings } from './env';

/** Starts the real test stack (livekit-server, S3, Redis) and one roomcast with every role. */
export default async function globalSetup(): Promise<void> {
  const s = testSettings();
  await stackDown(s);
  rmSync(path.join(s.dataDir, 's3-objects'), { recursive: true, force: true });
  rmSync(path.join(s.dataDir, 's3-sidecar'), { recursive: true, force: true });
  rmSync(path.join(s.dataDir, 'spool'), { recursive: true, force: true });
  await stackUp(s);
  // LiveKit stands for the company's SFU, on machines of its own: it runs at −10, level with the
  // clients (client-priority.ts) and roomcast (roomcast-process.ts), so a join's burst of work on
  // two shared cores starves none of them.
  const sfu = daemonPid({ name: 'livekit-server', runDir: path.join(s.dataDir, 'run') });
  try {
    if (sfu) os.setPriority(sfu, -10);
  } catch {
    // not allowed (not root): LiveKit shares the CPU evenly with roomcast
  }
  const env = testAppEnv();
  const redis = new IORedis(env.REDIS_URL);
  await redis.flushdb();
  redis.disconnect();
  // A run that was interrupted (Ctrl-C, a killed jest) can leave its roomcast behind: stop it first.
  const pidFile = path.join(s.dataDir, 'run', 'roomcast-all.pid');
  const stale = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
  if (stale > 0 && alive(stale)) process.kill(stale, 'SIGKILL');
  const rc = new RoomcastProcess('roomcast-all', env);
  await rc.start();
  writeFileSync(pidFile, String(rc.pid));
  (globalThis as Record<string, unknown>).__ROOMCAST__ = rc;
}
