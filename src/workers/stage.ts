import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Job, UnrecoverableError } from 'bullmq';
import type { FinalizeJob } from '../contracts/jobs';
import { FAILURE_REASONS, transition } from '../contracts/lifecycle';
import type { Manifest } from '../contracts/manifest';
import { fileKindOf } from '../contracts/recording-files';
import type { Logger } from '../shared/log';
import { metrics } from '../shared/metrics';
import type { Bucket } from '../storage/objects';
import { RecordingDeletedError, RecordingStore } from '../storage/recording-store';

export interface StageDeps {
  /** The process's S3 client (storage/s3.ts): only the recording store speaks to it. */
  s3: Bucket['s3'];
  bucket: string;
  log: Logger;
}

export type StageName = 'finalize' | 'transcribe' | 'publish';

export interface StageContext extends StageDeps {
  /** Every read and write of the recording's objects. */
  store: RecordingStore;
  manifest: Manifest;
  workdir: string;
  progress: (pct: number) => Promise<void>;
  /**
   * Puts one of the recording's objects (content type and Cache-Control from the table of
   * recording files, for the room's visibility) and lists it in manifest.files when its kind is.
   */
  put: (relKey: string, body: Buffer | string | Readable, o?: { contentLength?: number }) => Promise<void>;
}

/**
 * What a stage that fails for good does to the recording: a failed finalize or publish fails it
 * (with the named reason); a failed transcription does not, as the replay works without it.
 */
const FAILS_RECORDING: Record<StageName, string | null> = {
  finalize: FAILURE_REASONS.finalizeFailed,
  transcribe: null,
  publish: FAILURE_REASONS.publishFailed,
};

/** The recording is gone (deleted, being deleted, or never had a manifest): the job stops and is not retried. */
export class RecordingGoneError extends UnrecoverableError {
  constructor(recordingId: string, why: string) {
    super(`recording ${recordingId} ${why}: nothing to do`);
  }
}

/** The store of a job's recording (its room and id; the job's manifestKey is not used). */
export function storeFor(deps: StageDeps, data: Pick<FinalizeJob, 'room' | 'recordingId'>): RecordingStore {
  return RecordingStore.of(deps.s3, deps.bucket, data.room, data.recordingId);
}

/** The manifest.files id of an object, when its kind is listed there. */
export function fileIdOf(relKey: string): string | undefined {
  const file = fileKindOf(relKey);
  return file?.kind.fileId?.(file.match);
}

/** Lists an object in manifest.files (or a live archive's files) under its kind's id, when its kind is listed there. */
export function recordFile(files: Record<string, string>, relKey: string): void {
  const id = fileIdOf(relKey);
  if (id) files[id] = relKey;
}

/** An error as the queue should see it: a write refused because the recording was deleted stops the job for good. */
export function asJobError(err: unknown, recordingId: string): unknown {
  return err instanceof RecordingDeletedError ? new RecordingGoneError(recordingId, 'has been deleted') : err;
}

/** Whether a failure is the job's last: no attempt left, or one that retrying cannot help (UnrecoverableError). */
export function failsForGood(job: Pick<Job, 'attemptsMade' | 'opts'> | undefined, err: unknown): boolean {
  if (err instanceof UnrecoverableError) return true;
  if (!job) return true;
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/**
 * The manifest as a live job (which may start before the recorder wrote it) sees it: null while
 * there is none yet; a RecordingGoneError once the recording is being deleted or has been.
 */
export async function readLiveManifest(store: RecordingStore): Promise<Manifest | null> {
  const m = await store.readManifest();
  if (m?.status === 'deleting') throw new RecordingGoneError(store.recordingId, 'is being deleted');
  if (!m && (await store.isDeleted())) throw new RecordingGoneError(store.recordingId, 'has been deleted');
  return m;
}

/**
 * Runs one after-the-room stage with its bookkeeping: the manifest says it is running (and which
 * attempt), then done or failed with the reason; a scratch folder is made and always removed.
 * The stage itself writes fixed keys, so a rerun overwrites rather than duplicates.
 *
 * A failure on the job's last attempt (or an UnrecoverableError) of finalize or publish moves the
 * recording to `failed` with its named reason. A recording that is deleted (no manifest, status
 * `deleting`, or a write refused by its tombstone) stops the stage with a RecordingGoneError
 * (an UnrecoverableError: BullMQ does not retry it), and nothing more is written.
 */
export async function runStage<T>(
  name: StageName,
  deps: StageDeps,
  job: Job | undefined,
  data: FinalizeJob,
  fn: (ctx: StageContext) => Promise<T>,
): Promise<T> {
  const store = storeFor(deps, data);
  const manifest = await store.readManifest();
  if (!manifest) throw new RecordingGoneError(data.recordingId, 'has no manifest (deleted?)');
  if (manifest.status === 'deleting') throw new RecordingGoneError(data.recordingId, 'is being deleted');
  const attempt = (job?.attemptsMade ?? 0) + 1;
  const started = performance.now();
  // A recording that failed for good, retried by hand, is being finalized again.
  if (name === 'finalize' && manifest.status === 'failed') transition(manifest, 'finalizing');
  manifest.processing[name] = { status: 'running', at: new Date().toISOString(), attempt };
  const workdir = await mkdtemp(path.join(os.tmpdir(), `roomcast-${name}-`));
  const ctx: StageContext = {
    ...deps,
    store,
    manifest,
    workdir,
    progress: async (pct) => {
      await job?.updateProgress(pct);
    },
    put: async (relKey, body, o = {}) => {
      await store.put(relKey, body, o);
      recordFile(manifest.files, relKey);
    },
  };
  const gone = () => {
    metrics.jobSeconds.observe({ stage: name, outcome: 'deleted' }, (performance.now() - started) / 1000);
    deps.log.info({ stage: name, recordingId: data.recordingId }, 'stage stopped: the recording has been deleted');
    return new RecordingGoneError(data.recordingId, 'has been deleted');
  };
  try {
    await store.writeManifest(manifest);
    const result = await fn(ctx);
    const tookMs = Math.round(performance.now() - started);
    manifest.processing[name] = { status: 'done', at: new Date().toISOString(), attempt, tookMs };
    await store.writeManifest(manifest);
    metrics.jobSeconds.observe({ stage: name, outcome: 'done' }, tookMs / 1000);
    deps.log.info({ stage: name, recordingId: manifest.recordingId, tookMs }, 'stage done');
    return result;
  } catch (err) {
    if (err instanceof RecordingDeletedError) throw gone();
    const error = String((err as Error)?.message ?? err).slice(0, 2000);
    const final = failsForGood(job, err);
    manifest.processing[name] = { status: 'failed', at: new Date().toISOString(), attempt, error };
    const reason = FAILS_RECORDING[name];
    // Only the after-room stages' own phase: a recording already failed keeps its first reason.
    if (final && reason && manifest.status === 'finalizing') transition(manifest, 'failed', { error: `${reason}: ${error}` });
    try {
      await store.writeManifest(manifest);
    } catch (writeErr) {
      if (writeErr instanceof RecordingDeletedError) throw gone();
      deps.log.warn({ stage: name, recordingId: manifest.recordingId, err: (writeErr as Error).message }, 'could not record the failure in the manifest');
    }
    metrics.jobSeconds.observe({ stage: name, outcome: 'failed' }, (performance.now() - started) / 1000);
    deps.log.warn({ stage: name, recordingId: manifest.recordingId, attempt, final, status: manifest.status, error }, 'stage failed');
    throw err;
  } finally {
    await rm(workdir, { recursive: true, force: true });
  }
}
