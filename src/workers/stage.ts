import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Job } from 'bullmq';
import type { Manifest } from '../contracts/manifest';
import type { Logger } from '../shared/log';
import { metrics } from '../shared/metrics';
import { readManifest, writeManifest } from '../storage/manifest-io';

export interface StageDeps {
  s3: S3Client;
  bucket: string;
  log: Logger;
}

export interface StageContext extends StageDeps {
  manifest: Manifest;
  /** S3 prefix of the recording. */
  prefix: string;
  workdir: string;
  progress: (pct: number) => Promise<void>;
  /** Puts one object under the recording's prefix and records it in manifest.files. */
  put: (fileKind: string, relKey: string, body: Buffer | string, contentType: string) => Promise<void>;
}

/**
 * Runs one after-the-room stage with its bookkeeping: the manifest says it is running (and which
 * attempt), then done or failed with the reason; a scratch folder is made and always removed.
 * The stage itself writes fixed keys, so a rerun overwrites rather than duplicates.
 */
export async function runStage<T>(
  name: string,
  deps: StageDeps,
  job: Job | undefined,
  manifestKey: string,
  fn: (ctx: StageContext) => Promise<T>,
): Promise<T> {
  const prefix = manifestKey.replace(/manifest\.json$/, '');
  const manifest = await readManifest(deps.s3, deps.bucket, manifestKey);
  if (!manifest) throw new Error(`no manifest at ${manifestKey}`);
  const attempt = (job?.attemptsMade ?? 0) + 1;
  const started = performance.now();
  manifest.processing[name] = { status: 'running', at: new Date().toISOString(), attempt };
  await writeManifest(deps.s3, deps.bucket, manifestKey, manifest);
  const workdir = await mkdtemp(path.join(os.tmpdir(), `roomcast-${name}-`));
  const ctx: StageContext = {
    ...deps,
    manifest,
    prefix,
    workdir,
    progress: async (pct) => {
      await job?.updateProgress(pct);
    },
    put: async (fileKind, relKey, body, contentType) => {
      await deps.s3.send(new PutObjectCommand({
        Bucket: deps.bucket,
        Key: prefix + relKey,
        Body: body,
        ContentType: contentType,
        CacheControl: contentType.startsWith('text/html') || relKey.endsWith('data.json') ? 'no-cache' : 'public, max-age=300',
      }));
      manifest.files[fileKind] = relKey;
    },
  };
  try {
    const result = await fn(ctx);
    const tookMs = Math.round(performance.now() - started);
    manifest.processing[name] = { status: 'done', at: new Date().toISOString(), attempt, tookMs };
    await writeManifest(deps.s3, deps.bucket, manifestKey, manifest);
    metrics.jobSeconds.observe({ stage: name, outcome: 'done' }, tookMs / 1000);
    deps.log.info({ stage: name, recordingId: manifest.recordingId, tookMs }, 'stage done');
    return result;
  } catch (err) {
    const error = String((err as Error)?.message ?? err).slice(0, 2000);
    manifest.processing[name] = { status: 'failed', at: new Date().toISOString(), attempt, error };
    await writeManifest(deps.s3, deps.bucket, manifestKey, manifest).catch(() => undefined);
    metrics.jobSeconds.observe({ stage: name, outcome: 'failed' }, (performance.now() - started) / 1000);
    deps.log.warn({ stage: name, recordingId: manifest.recordingId, attempt, error }, 'stage failed');
    throw err;
  } finally {
    await rm(workdir, { recursive: true, force: true });
  }
}
