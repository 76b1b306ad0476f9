import os from 'node:os';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import IORedis from 'ioredis';
import { alive, daemonPid } from '../../src/stack/daemon';
import { stackDown, stackUp } from '../../src/stack/stack';
import { RoomcastProcess } from './roomcast-process';
import { testAppEnv, testSettings } from './env';

/** Starts the real test stack (livekit-server, S3, Redis) and roomcast: api + ingest, and workers. */
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
  // As docker-compose.yml runs them: the api and the ingest in one process, the workers in another.
  // With the workers in the recorder's process, the live archive's work (an FFmpeg spawned per chunk
  // and format) coincided with every track's jitter buffer growing by 125+ ms in the recording test
  // (1 run in 4 to 8); without it, 4 of 4 runs placed every burst in line.
  const procs = [new RoomcastProcess('roomcast-api-ingest', env, ['api', 'ingest']), new RoomcastProcess('roomcast-workers', env, ['workers'])];
  for (const rc of procs) {
    // A run that was interrupted (Ctrl-C, a killed jest) can leave one behind: stop it first.
    const pidFile = path.join(s.dataDir, 'run', `${rc.name}.pid`);
    const stale = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : 0;
    if (stale > 0 && alive(stale)) process.kill(stale, 'SIGKILL');
    await rc.start();
    writeFileSync(pidFile, String(rc.pid));
  }
  (globalThis as Record<string, unknown>).__ROOMCAST__ = procs;
}
