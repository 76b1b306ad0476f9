import { timingSafeEqual } from 'node:crypto';
import express, { RequestHandler } from 'express';
import type { Server } from 'node:http';
import type { Config } from '../config';
import { registry } from '../shared/metrics';
import { sendError } from './errors';

const serve: RequestHandler = async (_req, res) => {
  res.set('Content-Type', registry.contentType).set('Cache-Control', 'no-store').send(await registry.metrics());
};

const sameSecret = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * /metrics on the api's port: only with `Authorization: Bearer $METRICS_TOKEN`, and not at all when
 * the metrics have a listener of their own (METRICS_PORT) or no token is set: fails closed.
 */
export function metricsOnApiPort(cfg: Config): RequestHandler {
  return (req, res, next) => {
    if (cfg.METRICS_PORT || !cfg.METRICS_TOKEN) return sendError(res, 404, 'not_found', 'no such endpoint');
    const given = /^Bearer\s+(\S+)$/i.exec(req.get('Authorization') ?? '')?.[1] ?? '';
    if (!sameSecret(given, cfg.METRICS_TOKEN)) return sendError(res, 401, 'unauthenticated', 'metrics need Authorization: Bearer <METRICS_TOKEN>');
    serve(req, res, next);
  };
}

/** /metrics on its own address (METRICS_HOST:METRICS_PORT), for any role: not reachable from the api's public port. */
export async function startMetricsServer(cfg: Config): Promise<Server | undefined> {
  if (!cfg.METRICS_PORT) return undefined;
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', (req, res, next) => {
    if (cfg.METRICS_TOKEN && !sameSecret(/^Bearer\s+(\S+)$/i.exec(req.get('Authorization') ?? '')?.[1] ?? '', cfg.METRICS_TOKEN)) {
      return sendError(res, 401, 'unauthenticated', 'metrics need Authorization: Bearer <METRICS_TOKEN>');
    }
    serve(req, res, next);
  });
  app.use((_req, res) => sendError(res, 404, 'not_found', 'no such endpoint'));
  return new Promise((resolve, reject) => {
    const srv = app.listen(cfg.METRICS_PORT!, cfg.METRICS_HOST, () => resolve(srv)).on('error', reject);
  });
}
