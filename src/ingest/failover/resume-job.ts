import type { S3Client } from '@aws-sdk/client-s3';
import path from 'node:path';
import type { Config } from '../../config';
import type { RecordJob } from '../../contracts/jobs';
import { SAMPLE_RATE } from '../../contracts/audio';
import { rel, safeKey } from '../../contracts/layout';
import { STOP_REASONS, transition } from '../../contracts/lifecycle';
import type { Manifest } from '../../contracts/manifest';
import type { Logger } from '../../shared/log';
import { RecordingStore } from '../../storage/recording-store';
import { HlsPlaylists } from '../outputs/playlists';
import { findResumePoint, readSegments, ResumePoint } from './resume';
import { recoverSpool } from '../spool/spool-recovery';
import { Uploader } from '../spool/uploader';

/** Where every ingest process of this machine spools one recording (a folder per process below it). */
export const recordingSpoolDir = (cfg: Pick<Config, 'SPOOL_DIR'>, room: string, recordingId: string) => path.join(cfg.SPOOL_DIR, safeKey(room), recordingId);

/** The ingest's view of a recording's objects (no tombstone checks: it cannot be deleted while it records). */
export const ingestStore = (deps: { cfg: Config; s3: S3Client }, data: Pick<RecordJob, 'room' | 'recordingId'>) =>
  RecordingStore.of(deps.s3, deps.cfg.S3_BUCKET, data.room, data.recordingId, false);

/** Before a recording goes on: upload what a dead process left on this machine, then find where it ends. */
export async function prepareResume(deps: { cfg: Config; s3: S3Client }, data: RecordJob, previous: Manifest, log: Logger): Promise<ResumePoint> {
  const store = ingestStore(deps, data);
  store.visibility = previous.visibility;
  let t = performance.now();
  const took = () => Math.round(-t + (t = performance.now()));
  const segments = await readSegments(store);
  const playlistMs = took();
  const uploader = new Uploader(store, log);
  const recovered = await recoverSpool({ uploader, recordingDir: recordingSpoolDir(deps.cfg, data.room, data.recordingId), ownDir: '', manifest: previous, segments, log });
  const spoolMs = took();
  const point = await findResumePoint(store, previous, segments, recovered.pcm);
  point.steps = { playlistMs, spoolMs, chunksMs: took() };
  return point;
}

/** The room ended while nobody recorded it: close the recording where its audio ends. */
export async function closeLeftOpen(deps: { cfg: Config; s3: S3Client }, data: RecordJob, resume: ResumePoint, log: Logger): Promise<void> {
  const m = resume.manifest;
  const store = ingestStore(deps, data);
  store.visibility = m.visibility;
  const durationMs = Math.round((resume.position / SAMPLE_RATE) * 1000);
  const playlists = new HlsPlaylists(m.hls.segmentSeconds, 6);
  playlists.seed(resume.segments);
  await store.put(rel.eventPlaylist, playlists.event(true));
  await store.put(rel.livePlaylist, playlists.live(true));
  transition(m, 'finalizing', { stopReason: STOP_REASONS.roomLeftOpen });
  Object.assign(m, { durationMs, endedAt: new Date(Date.parse(m.startedAt) + durationMs).toISOString() });
  m.hls.ended = true;
  m.hls.segments = resume.segments.length;
  await store.writeManifest(m);
  log.warn({ recordingId: m.recordingId, durationMs }, 'room ended while its recording had no ingest: closed where its audio ends');
}
