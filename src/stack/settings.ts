import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** Project root (this file lives in dist/stack or src/stack). */
export const ROOT = path.resolve(__dirname, '..', '..');
export const TOOLS_BIN = path.join(ROOT, '.tools', 'bin');

const port = z.coerce.number().int().min(1024).max(65535);
const StackEnv = z.object({
  ROOMCAST_STACK: z.string().regex(/^[a-z0-9-]+$/).default('dev'),
  ROOMCAST_DATA_DIR: z.string().optional(),
  ROOMCAST_LIVEKIT_PORT: port.default(7880),
  ROOMCAST_S3_PORT: port.default(9100),
  ROOMCAST_API_PORT: port.default(8080),
  ROOMCAST_REDIS_URL: z.string().default('redis://127.0.0.1:6379/0'),
  /** When set, the stack runs its own Redis on this port (AOF persistence, noeviction) instead of using ROOMCAST_REDIS_URL. */
  ROOMCAST_REDIS_PORT: port.optional(),
});

/** Where and on which loopback ports one local stack runs; two stacks (demo, tests) can run side by side. */
export interface StackSettings {
  name: string;
  dataDir: string;
  livekitPort: number;
  rtcTcpPort: number;
  rtcUdpPort: number;
  s3Port: number;
  apiPort: number;
  redisUrl: string;
  /** The port of the stack's own Redis, if it runs one (else redisUrl is the machine's). */
  ownRedisPort?: number;
  bucket: string;
}

export function stackSettings(env: NodeJS.ProcessEnv = process.env): StackSettings {
  const e = StackEnv.parse(env);
  return {
    name: e.ROOMCAST_STACK,
    dataDir: path.resolve(e.ROOMCAST_DATA_DIR ?? path.join(ROOT, '.data', e.ROOMCAST_STACK)),
    livekitPort: e.ROOMCAST_LIVEKIT_PORT,
    rtcTcpPort: e.ROOMCAST_LIVEKIT_PORT + 1,
    rtcUdpPort: e.ROOMCAST_LIVEKIT_PORT + 2,
    s3Port: e.ROOMCAST_S3_PORT,
    apiPort: e.ROOMCAST_API_PORT,
    redisUrl: e.ROOMCAST_REDIS_PORT ? `redis://127.0.0.1:${e.ROOMCAST_REDIS_PORT}/0` : e.ROOMCAST_REDIS_URL,
    ownRedisPort: e.ROOMCAST_REDIS_PORT,
    bucket: 'roomcast',
  };
}

export interface StackSecrets {
  LIVEKIT_API_KEY: string;
  LIVEKIT_API_SECRET: string;
  S3_ACCESS_KEY_ID: string;
  S3_SECRET_ACCESS_KEY: string;
  LINK_SIGNING_SECRET: string;
  METRICS_TOKEN: string;
}

const newSecrets = (): StackSecrets => ({
  LIVEKIT_API_KEY: `API${randomBytes(6).toString('hex')}`,
  LIVEKIT_API_SECRET: randomBytes(24).toString('base64url'),
  S3_ACCESS_KEY_ID: `rc${randomBytes(8).toString('hex')}`,
  S3_SECRET_ACCESS_KEY: randomBytes(24).toString('base64url'),
  LINK_SIGNING_SECRET: randomBytes(32).toString('base64url'),
  METRICS_TOKEN: randomBytes(24).toString('base64url'),
});

/** Random per-stack secrets, made once and kept (0600) in the stack's data folder: never in code. */
export function stackSecrets(s: StackSettings): StackSecrets {
  const file = path.join(s.dataDir, 'secrets.env');
  const kept = existsSync(file)
    ? Object.fromEntries(
        readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      )
    : {};
  // A secret added in a newer version is made once and kept with the others.
  const secrets = { ...newSecrets(), ...kept } as StackSecrets;
  if (Object.keys(secrets).length !== Object.keys(kept).length) {
    mkdirSync(s.dataDir, { recursive: true });
    writeFileSync(file, Object.entries(secrets).map(([k, v]) => `${k}=${v}`).join('\n') + '\n', { mode: 0o600 });
  }
  return secrets;
}

/** The KEY=VALUE settings (see src/config.ts) that point roomcast at this stack. */
export function stackAppEnv(s: StackSettings): Record<string, string> {
  const sec = stackSecrets(s);
  return {
    LIVEKIT_URL: `ws://127.0.0.1:${s.livekitPort}`,
    LIVEKIT_API_KEY: sec.LIVEKIT_API_KEY,
    LIVEKIT_API_SECRET: sec.LIVEKIT_API_SECRET,
    REDIS_URL: s.redisUrl,
    S3_ENDPOINT: `http://127.0.0.1:${s.s3Port}`,
    S3_REGION: 'us-east-1',
    S3_BUCKET: s.bucket,
    S3_ACCESS_KEY_ID: sec.S3_ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY: sec.S3_SECRET_ACCESS_KEY,
    LINK_SIGNING_SECRET: sec.LINK_SIGNING_SECRET,
    // /metrics on the api port for whoever holds the stack's token (the tests read it there).
    METRICS_TOKEN: sec.METRICS_TOKEN,
    S3_FORCE_PATH_STYLE: 'true',
    PUBLIC_BASE_URL: `http://127.0.0.1:${s.apiPort}`,
    API_HOST: '127.0.0.1',
    API_PORT: String(s.apiPort),
    SPOOL_DIR: path.join(s.dataDir, 'spool'),
    QUEUE_PREFIX: `roomcast-${s.name}`,
  };
}
