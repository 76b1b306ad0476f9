import type { RequestHandler } from 'express';
import type IORedis from 'ioredis';
import type { Config } from '../config';
import { livekitHttpUrl } from '../shared/livekit';
import type { Bucket } from '../storage/objects';

interface Check {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
}

/** A result this fresh is answered as it is: a flood of /healthz costs the backends nothing. */
const FRESH_MS = 1000;

/**
 * /healthz: Redis, S3 and LiveKit reachable? Checked at most once a second whatever the traffic
 * (callers share the running check), and what went wrong is shown only to a caller with the
 * metrics token: error text names internal hosts and ports.
 */
export function healthCheck(cfg: Config, redis: IORedis, bucket: Bucket): RequestHandler {
  let last: { at: number; checks: Promise<Check[]> } | undefined;
  const run = () =>
    Promise.all([
      check('redis', () => redis.ping()),
      check('s3', () => bucket.head()),
      check('livekit', async () => {
        const r = await fetch(livekitHttpUrl(cfg.LIVEKIT_URL), { signal: AbortSignal.timeout(2000) });
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
      }),
    ]);
  return async (req, res) => {
    if (!last || Date.now() - last.at > FRESH_MS) last = { at: Date.now(), checks: run() };
    const checks = await last.checks;
    const ok = checks.every((c) => c.ok);
    const detailed = !!cfg.METRICS_TOKEN && req.get('Authorization') === `Bearer ${cfg.METRICS_TOKEN}`;
    res
      .status(ok ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ ok, checks: checks.map((c) => (detailed ? c : { name: c.name, ok: c.ok, ms: c.ms })) });
  };
}

async function check(name: string, fn: () => Promise<unknown>): Promise<Check> {
  const t = performance.now();
  try {
    await fn();
    return { name, ok: true, ms: Math.round(performance.now() - t) };
  } catch (err) {
    return { name, ok: false, ms: Math.round(performance.now() - t), error: String((err as Error)?.message ?? err).slice(0, 300) };
  }
}
