import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import IORedis from 'ioredis';
import { Bucket } from '../storage/objects';
import { makeS3Client } from '../storage/s3';
import { DaemonSpec, portOpen, startDaemon, stopDaemon, waitFor } from './daemon';
import { ROOT, StackSettings, TOOLS_BIN, stackAppEnv, stackSecrets } from './settings';

/**
 * infra/livekit.yaml with this stack's ports, keys and webhook. `extra` is YAML appended to it: a
 * multi-node deployment adds its shared Redis (`redis:`) and `node_selector:` (docs/ARCHITECTURE.md).
 */
export function renderLivekitConfig(s: StackSettings, o: { port: number; rtcTcpPort: number; rtcUdpPort: number; webhookUrl: string; extra?: string }): string {
  const sec = stackSecrets(s);
  const vars: Record<string, string | number> = {
    LIVEKIT_PORT: o.port,
    LIVEKIT_RTC_TCP_PORT: o.rtcTcpPort,
    LIVEKIT_RTC_UDP_PORT: o.rtcUdpPort,
    LIVEKIT_API_KEY: sec.LIVEKIT_API_KEY,
    LIVEKIT_API_SECRET: sec.LIVEKIT_API_SECRET,
    WEBHOOK_URL: o.webhookUrl,
  };
  const template = readFileSync(path.join(ROOT, 'infra', 'livekit.yaml'), 'utf8');
  const rendered = template.replace(/\$\{([A-Z_]+)\}/g, (_, k: string) => {
    if (!(k in vars)) throw new Error(`infra/livekit.yaml: unknown placeholder ${k}`);
    return String(vars[k]);
  });
  return o.extra ? `${rendered}\n${o.extra}` : rendered;
}

/** The local stack: livekit-server and an S3 server (versitygw) as real processes on loopback, plus Redis. */
export function stackDaemons(s: StackSettings): DaemonSpec[] {
  const sec = stackSecrets(s);
  const runDir = path.join(s.dataDir, 'run');
  const s3Root = path.join(s.dataDir, 's3-objects');
  mkdirSync(runDir, { recursive: true });
  mkdirSync(s3Root, { recursive: true });
  mkdirSync(path.join(s.dataDir, 's3-sidecar'), { recursive: true });
  const lkConfig = path.join(runDir, 'livekit.yaml');
  writeFileSync(lkConfig, renderLivekitConfig(s, { port: s.livekitPort, rtcTcpPort: s.rtcTcpPort, rtcUdpPort: s.rtcUdpPort, webhookUrl: `http://127.0.0.1:${s.apiPort}/v1/webhooks/livekit` }), { mode: 0o600 });
  const daemons: DaemonSpec[] = [
    {
      name: 'livekit-server',
      command: path.join(TOOLS_BIN, 'livekit-server'),
      args: ['--config', lkConfig],
      port: s.livekitPort,
      runDir,
    },
    {
      name: 's3',
      command: path.join(TOOLS_BIN, 'versitygw'),
      args: ['--port', `127.0.0.1:${s.s3Port}`, 'posix', '--sidecar', path.join(s.dataDir, 's3-sidecar'), s3Root],
      env: { ROOT_ACCESS_KEY_ID: sec.S3_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY: sec.S3_SECRET_ACCESS_KEY },
      port: s.s3Port,
      runDir,
    },
  ];
  if (s.ownRedisPort) {
    // Configured as production Redis must be (README, Redis in production): jobs and locks survive a
    // restart (append-only file), and nothing is ever evicted.
    const redisDir = path.join(s.dataDir, 'redis');
    mkdirSync(redisDir, { recursive: true });
    daemons.push({
      name: 'redis',
      command: 'redis-server',
      args: ['--bind', '127.0.0.1', '--port', String(s.ownRedisPort), '--dir', redisDir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction'],
      port: s.ownRedisPort,
      runDir,
    });
  }
  return daemons;
}

async function ensureRedis(url: string): Promise<void> {
  const u = new URL(url);
  const port = Number(u.port || 6379);
  if (await portOpen(port, u.hostname)) return;
  if (!['127.0.0.1', 'localhost'].includes(u.hostname)) throw new Error(`Redis at ${url} is not reachable`);
  // Same command the machine uses for its own Redis; it keeps nothing on disk.
  mkdirSync('/var/lib/redis', { recursive: true });
  execFileSync('redis-server', [
    '--daemonize', 'yes', '--bind', '127.0.0.1', '--port', String(port),
    '--save', '', '--appendonly', 'no', '--dir', '/var/lib/redis',
  ]);
  await waitFor('redis', () => portOpen(port, u.hostname), 10_000);
}

async function ensureBucket(s: StackSettings): Promise<void> {
  const env = stackAppEnv(s);
  const s3 = makeS3Client({
    S3_ENDPOINT: env.S3_ENDPOINT,
    S3_REGION: env.S3_REGION,
    S3_ACCESS_KEY_ID: env.S3_ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY: env.S3_SECRET_ACCESS_KEY,
    S3_FORCE_PATH_STYLE: true,
  });
  await new Bucket(s3, s.bucket).ensure();
  s3.destroy();
}

export async function stackUp(s: StackSettings): Promise<void> {
  for (const bin of ['livekit-server', 'versitygw']) {
    if (!existsSync(path.join(TOOLS_BIN, bin))) {
      throw new Error(`${bin} is not installed in ${TOOLS_BIN}; run scripts/setup.sh`);
    }
  }
  if (!s.ownRedisPort) await ensureRedis(s.redisUrl);
  for (const d of stackDaemons(s)) await startDaemon(d);
  await ensureBucket(s);
  const redis = new IORedis(s.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  await redis.ping();
  redis.disconnect();
}

export async function stackDown(s: StackSettings): Promise<string[]> {
  const stopped: string[] = [];
  const runDir = path.join(s.dataDir, 'run');
  for (const name of ['livekit-server', 's3', 'redis']) if (await stopDaemon({ name, runDir })) stopped.push(name);
  return stopped;
}
