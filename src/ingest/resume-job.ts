import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import path from 'node:path';
import type { Config } from '../config';
import type { RecordJob } from '../contracts/jobs';
import { recordingPrefix, rel, safeKey } from '../contracts/layout';
import type { Manifest } from '../contracts/manifest';
import type { Logger } from '../shared/log';
import { writeManifest } from '../storage/manifest-io';
import { HlsPlaylists } from './playlists';
import { findResumePoint, readSegments, ResumePoint } from './resume';
import { recoverSpool } from './spool-recovery';
import { SAMPLE_RATE } from './timeline';

/** Where every ingest process of this machine spools one recording (a folder per process below it). */
export const recordingSpoolDir = (cfg: Pick<Config, 'SPOOL_DIR'>, room: string, recordingId: string) => path.join(cfg.SPOOL_DIR, safeKey(room), recordingId);

/** Before a recording goes on: upload what a dead process left on this machine, then find where it ends. */
export async function prepareResume(deps: { cfg: Config; s3: S3Client }, data: RecordJob, previous: Manifest, log: Logger): Promise<ResumePoint> {
  const prefix = recordingPrefix(data.room, data.recordingId);
  const segments = await readSegments(deps.s3, deps.cfg.S3_BUCKET, prefix + rel.eventPlaylist);
  const recovered = await recoverSpool({ s3: deps.s3, bucket: deps.cfg.S3_BUCKET, prefix, recordingDir: recordingSpoolDir(deps.cfg, data.room, data.recordingId), ownDir: '', manifest: previous, segments, log });
  return findResumePoint(deps.s3, deps.cfg.S3_BUCKET, prefix, previous, segments, recovered.pcm);
}

/** The room ended while nobody recorded it: close the recording where its audio ends. */
export async function closeLeftOpen(deps: { cfg: Config; s3: S3Client }, prefix: string, resume: ResumePoint, log: Logger): Promise<void> {
  const m = resume.manifest;
  const durationMs = Math.round((resume.position / SAMPLE_RATE) * 1000);
  const playlists = new HlsPlaylists(m.hls.segmentSeconds, 6);
  playlists.seed(resume.segments);
  const put = (key: string, body: string) =>
    deps.s3.send(new PutObjectCommand({ Bucket: deps.cfg.S3_BUCKET, Key: prefix + key, Body: body, ContentType: 'application/vnd.apple.mpegurl', CacheControl: 'public, max-age=31536000' }));
  await put(rel.eventPlaylist, playlists.event(true));
  await put(rel.livePlaylist, playlists.live(true));
  Object.assign(m, { status: 'finalizing', durationMs, endedAt: new Date(Date.parse(m.startedAt) + durationMs).toISOString(), updatedAt: new Date().toISOString() });
  m.hls.ended = true;
  m.hls.segments = resume.segments.length;
  await writeManifest(deps.s3, deps.cfg.S3_BUCKET, prefix + rel.manifest, m);
  log.warn({ recordingId: m.recordingId, durationMs }, 'room ended while its recording had no ingest: closed where its audio ends');
}
