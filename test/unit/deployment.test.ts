import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { loadConfig } from '../../src/config';
import { ROLES } from '../../src/cli/roles';
import { ROOT } from '../support/env';

/**
 * No Docker engine runs here, so docker-compose.yml is checked against the code: it parses, each
 * roomcast service runs a real role, its environment passes our config validation, and LiveKit's
 * webhooks reach the api's route.
 */
const sample: Record<string, string> = {
  LIVEKIT_API_KEY: 'APIcompose',
  LIVEKIT_API_SECRET: 's'.repeat(40),
  S3_ACCESS_KEY_ID: 'roomcast',
  S3_SECRET_ACCESS_KEY: 'x'.repeat(20),
  LINK_SIGNING_SECRET: 'l'.repeat(40),
  METRICS_TOKEN: 'm'.repeat(32),
};

/** Compose's interpolation: ${V}, ${V:-default}, ${V:?error}, and $$ for a literal $. */
function interpolate(text: string, env: Record<string, string>): string {
  return text
    .replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
      if (env[name] !== undefined) return env[name];
      if (op === '-') return arg ?? '';
      if (op === '?') throw new Error(`compose would stop: ${name}: ${arg}`);
      return '';
    })
    .replace(/\$\$/g, '$');
}

const compose = YAML.parse(interpolate(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), sample), { merge: true });
const roomcastServices = Object.entries<any>(compose.services).filter(([, s]) => s.build);

test('the compose file refuses to start without its secrets', () => {
  expect(() => interpolate(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), {})).toThrow(/LIVEKIT_API_KEY/);
});

test('each roomcast service runs one real role with a valid configuration', () => {
  expect(roomcastServices.map(([n]) => n).sort()).toEqual(['api', 'ingest', 'workers']);
  for (const [name, svc] of roomcastServices) {
    const [cmd, flag, role] = svc.command;
    expect({ name, cmd, flag }).toEqual({ name, cmd: 'start', flag: '--role' });
    expect(ROLES).toContain(role);
    expect(role).toBe(name);
    expect(() => loadConfig(svc.environment)).not.toThrow();
  }
  // /metrics is on a listener of its own that no service publishes, and needs a token.
  for (const [, svc] of roomcastServices) {
    const cfg = loadConfig(svc.environment);
    expect(cfg.METRICS_PORT).toBeDefined();
    expect(cfg.METRICS_TOKEN).toBeDefined();
    expect((svc.ports ?? []).some((p: string) => p.includes(String(cfg.METRICS_PORT)))).toBe(false);
  }
  const ingest = compose.services.ingest;
  expect(ingest.volumes.some((v: string) => v.endsWith(`:${ingest.environment.SPOOL_DIR}`))).toBe(true);
});

test("LiveKit's webhooks go to the api's route, signed with the same key", () => {
  const lk = YAML.parse(compose.services.livekit.environment.LIVEKIT_CONFIG);
  const api = compose.services.api.environment;
  expect(lk.webhook.urls).toEqual([`http://api:${api.API_PORT}/v1/webhooks/livekit`]);
  expect(lk.webhook.api_key).toBe(api.LIVEKIT_API_KEY);
  expect(lk.keys[api.LIVEKIT_API_KEY]).toBe(api.LIVEKIT_API_SECRET);
  expect(api.LIVEKIT_URL).toBe(`ws://livekit:${lk.port}`);
  expect(compose.services.redis.command).toEqual(expect.arrayContaining(['--maxmemory-policy', 'noeviction', '--appendonly', 'yes']));
});

test('the image runs the roomcast CLI', () => {
  const docker = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  expect(docker).toMatch(/ENTRYPOINT \[.*"node", "\/app\/bin\/roomcast"\]/);
  expect(docker).toMatch(/apt-get install[^\n]*ffmpeg/);
});

test('the local LiveKit config stays on loopback with no STUN/TURN', () => {
  const body = readFileSync(path.join(ROOT, 'infra', 'livekit.yaml'), 'utf8').replace(/\$\{[A-Z_]+\}/g, '1');
  const lk = YAML.parse(body);
  expect(lk.rtc.use_external_ip).toBe(false);
  expect(lk.rtc.node_ip).toBe('127.0.0.1');
  expect(lk.rtc.stun_servers).toEqual([]);
  expect(lk.turn.enabled).toBe(false);
  expect(lk.bind_addresses).toEqual(['127.0.0.1']);
});
