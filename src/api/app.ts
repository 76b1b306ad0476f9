import type { S3Client } from '@aws-sdk/client-s3';
import express from 'express';
import type IORedis from 'ioredis';
import type { Config } from '../config';
import type { Control } from '../shared/control';
import type { Logger } from '../shared/log';
import type { Queues } from '../shared/queues';
import { Bucket } from '../storage/objects';
import { accessControl } from './access';
import { credentialedResponsesArePrivate } from './cache-safety';
import { errorHandler, sendError } from './errors';
import { healthCheck } from './health';
import { metricsOnApiPort } from './metrics-endpoint';
import { EdgeCache } from './edge-cache';
import { EdgeRelay } from './live-edge/edge-relay';
import { listingRouter } from './listing';
import { liveRouter } from './live';
import { openApiDocument } from './openapi';
import { rateLimits } from './rate-limit';
import { recordingFilesRouter } from './recording-files';
import { recordingsRouter } from './recordings';
import { webhookRouter } from './webhooks';

export function createApp(deps: {
  cfg: Config;
  queues: Queues;
  control: Control;
  s3: S3Client;
  redis: IORedis;
  log: Logger;
}): express.Express & { closeLiveEdge(): void } {
  const { cfg, redis } = deps;
  const log = deps.log.child({ role: 'api' });
  const app = express();
  app.disable('x-powered-by');
  // 'true', a hop count, or addresses/subnets/names ('loopback, 10.0.0.0/8').
  const trust = cfg.API_TRUST_PROXY;
  app.set('trust proxy', trust === 'true' ? true : trust === 'false' ? false : /^\d+$/.test(trust) ? Number(trust) : trust);
  const bucket = new Bucket(deps.s3, cfg.S3_BUCKET);
  const access = accessControl(cfg);
  const cache = new EdgeCache(bucket, 64 * 1024 * 1024, cfg.API_EDGE_CACHE);
  const edge = new EdgeRelay(redis, cfg.QUEUE_PREFIX, cache, log);
  const api = { cfg, bucket, log, access, cache, edge, control: deps.control };
  app.use(credentialedResponsesArePrivate);
  app.use(webhookRouter(cfg, deps.queues, deps.control, log));
  // Players on other sites fetch playlists, segments and status with CORS (no credentials cookies).
  app.use('/v1/rooms', (req, res, next) => {
    res.set('Access-Control-Allow-Origin', '*');
    if (req.method !== 'OPTIONS') return next();
    res.set({ 'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS', 'Access-Control-Allow-Headers': 'Authorization, Range', 'Access-Control-Max-Age': '600' }).status(204).end();
  });
  app.use(rateLimits(cfg, access.identify));
  app.get('/v1/openapi.json', (_req, res) => res.json(openApiDocument(cfg)));
  app.use(recordingsRouter({ ...deps, ...api }));
  app.use(listingRouter(api));
  app.use(liveRouter(api));
  app.use(recordingFilesRouter(api));

  app.get('/healthz', healthCheck(cfg, redis, bucket));
  app.get('/metrics', metricsOnApiPort(cfg));
  app.use((_req, res) => sendError(res, 404, 'not_found', 'no such endpoint'));
  app.use(errorHandler(log));
  return Object.assign(app, { closeLiveEdge: () => edge.close() });
}
