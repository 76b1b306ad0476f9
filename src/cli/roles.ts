import type { Server } from 'node:http';
import type { Config } from '../config';
import { createApp } from '../api/app';
import { startMetricsServer } from '../api/metrics-endpoint';
import { startIngest } from '../ingest/record-worker';
import { startWorkers } from '../workers';
import { Control } from '../shared/control';
import { log } from '../shared/log';
import { openQueues, redisConnection } from '../shared/queues';
import { makeS3Client } from '../storage/s3';

export const ROLES = ['api', 'ingest', 'workers'] as const;
export type Role = (typeof ROLES)[number];

export function parseRoles(values: string[] | undefined): Role[] {
  if (!values || values.length === 0) return [...ROLES];
  const roles = values.flatMap((v) => v.split(','));
  for (const r of roles) {
    if (!(ROLES as readonly string[]).includes(r)) throw new Error(`unknown role "${r}" (roles: ${ROLES.join(', ')})`);
  }
  return roles as Role[];
}

export interface Running {
  stop(): Promise<void>;
}

/** Starts the chosen roles in this process and drains them on SIGTERM/SIGINT. */
export async function startRoles(cfg: Config, roles: Role[], opts: { handleSignals?: boolean } = {}): Promise<Running> {
  const connection = redisConnection(cfg);
  const queues = openQueues(cfg, connection);
  const s3 = makeS3Client(cfg);
  const control = new Control(connection, cfg.QUEUE_PREFIX);
  const stops: Array<() => Promise<void>> = [];

  if (roles.includes('ingest')) {
    const ingest = startIngest({ cfg, connection, queues, s3, log });
    stops.push(ingest.drain);
  }
  if (roles.includes('workers')) {
    const workers = startWorkers({ cfg, connection, s3, log });
    stops.push(workers.close);
  }
  if (roles.includes('api')) {
    const app = createApp({ cfg, queues, control, s3, redis: connection, log });
    const server: Server = await new Promise((resolve, reject) => {
      const srv = app.listen(cfg.API_PORT, cfg.API_HOST, () => resolve(srv)).on('error', reject);
    });
    server.requestTimeout = 30_000;
    stops.unshift(() => new Promise<void>((r) => {
      app.closeLiveEdge(); // held LL-HLS requests end; the edge's Redis reader goes
      server.close(() => r());
    }));
  }
  const metricsServer = await startMetricsServer(cfg);
  if (metricsServer) stops.push(() => new Promise<void>((r) => metricsServer.close(() => r())));
  log.info({ roles, metrics: cfg.METRICS_PORT ? `http://${cfg.METRICS_HOST}:${cfg.METRICS_PORT}/metrics` : cfg.METRICS_TOKEN ? 'api port, with METRICS_TOKEN' : 'off', api: roles.includes('api') ? `http://${cfg.API_HOST}:${cfg.API_PORT}` : undefined }, 'roomcast started');

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      for (const s of stops) await s();
      await queues.close();
      connection.disconnect();
      s3.destroy();
    })());
  if (opts.handleSignals !== false) {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.once(sig, () => {
        log.info({ sig }, 'draining');
        stop().then(
          () => process.exit(0),
          (err) => {
            log.error({ err }, 'drain failed');
            process.exit(1);
          },
        );
      });
    }
  }
  return { stop };
}
