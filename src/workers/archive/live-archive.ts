import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import { rel } from '../../contracts/layout';
import type { FinalizeJob } from '../../contracts/jobs';
import { LiveArchiveStatus } from '../../contracts/live-archive';
import type { ChunkEntry, Manifest } from '../../contracts/manifest';
import { readManifest } from '../../storage/manifest-io';
import { TARGET_LUFS, TARGET_TP } from '../loudness';
import type { StageDeps } from '../stage';
import { buildTimeline, MIX_ARCHIVE, MIX_FORMATS, WAVEFORM_BIN_MS } from './outputs';
import { ArchiveStream, feedChunks, MixStream, readChunk, samplesFor, SpeakerStream } from './streams';

/** A chunk missing this far behind the mix's newest one will not come (that speaker was not there). */
const SETTLE_CHUNKS = 2;
/** The live file's loudness may be this far from the target before finalize makes it again. */
const LOUDNESS_TOLERANCE_LU = 0.4;
const HEARTBEAT_MS = 5_000;

export interface LiveArchiveOptions {
  pollMs?: number;
  /** Audio measured before the provisional gain is fixed. */
  measureMs?: number;
  maxHoldMs?: number;
}

/**
 * Makes the archive files while the room is live, so that finalize has (almost) nothing left when
 * it ends: the mix in every format, each speaker's Opus, waveform and speaker timeline, encoded as
 * the FLAC chunks land in S3. Its progress is in final/live-archive.json; finalize uses the result
 * only if it covers exactly the chunks of the final manifest and hit the loudness target, and
 * makes everything from the chunks otherwise. A restarted job starts over and catches up.
 */
export async function archiveLive(deps: StageDeps & LiveArchiveOptions, data: FinalizeJob, job?: Job): Promise<LiveArchiveStatus> {
  const prefix = data.manifestKey.replace(/manifest\.json$/, '');
  const first = await readManifest(deps.s3, deps.bucket, data.manifestKey);
  if (!first) throw new Error(`no manifest at ${data.manifestKey}`);
  const previous = await readLiveArchive(deps, prefix);
  // Finalize already went its own way (or this already finished): nothing to add.
  if (first.processing.finalize || previous?.state === 'complete') return previous ?? abandoned('finalize had started');

  const workdir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-archive-'));
  const mix = new MixStream(workdir, deps.measureMs ?? 60_000, deps.maxHoldMs ?? 5 * 60_000);
  const speakers = new Map<string, SpeakerStream>();
  const status: LiveArchiveStatus = { state: 'running', updatedAt: '', doneMs: 0, chunks: {}, chunkBytes: {}, files: {} };
  // Saves go one after another, so an older state never lands after a newer one.
  let saving: Promise<void> = Promise.resolve();
  const save = () => {
    if (status.state === 'running') status.doneMs = Math.round((Math.min(mix.samples, ...[...speakers.values()].map((x) => x.samples)) * 1000) / samplesFor(1000));
    const body = () => JSON.stringify({ ...status, updatedAt: new Date().toISOString() });
    saving = saving.catch(() => undefined).then(() => deps.s3.send(new PutObjectCommand({ Bucket: deps.bucket, Key: prefix + rel.liveArchive, Body: body(), ContentType: 'application/json' }))).then(() => undefined);
    return saving;
  };
  await save();
  const heartbeat = setInterval(() => void save().catch(() => undefined), HEARTBEAT_MS);
  let savedAt = 0;
  let scratch = 0;
  try {
    for (;;) {
      const m = (await readManifest(deps.s3, deps.bucket, data.manifestKey))!;
      const ended = m.status !== 'recording';
      const chunkMs = m.speakerFormat.chunkSeconds * 1000;
      const mixNewest = Math.max(-1, ...m.mix.chunks.map((c) => c.index));
      const feed = (stream: ArchiveStream, chunks: ChunkEntry[]) => feedChunks(stream, chunks, {
        read: (c) => readChunk(deps.s3, deps.bucket, prefix + c.key, c, path.join(workdir, `c${scratch++ % 8}.flac`)),
        chunkMs,
        endedAtMs: ended ? m.durationMs : null,
        settledBelow: mixNewest - SETTLE_CHUNKS + 1,
        maxChunks: 1,
      });
      for (const sp of m.speakers) {
        if (!speakers.has(sp.key)) speakers.set(sp.key, new SpeakerStream(path.join(workdir, `speaker-${speakers.size}.opus`)));
      }
      // A chunk of every stream in turn, so all of them advance together.
      for (let fed = 1; fed > 0; ) {
        fed = await feed(mix, m.mix.chunks);
        for (const sp of m.speakers) fed += await feed(speakers.get(sp.key)!, sp.chunks);
      }
      status.chunks = { mix: mix.read, ...Object.fromEntries([...speakers].map(([k, s]) => [k, s.read])) };
      status.chunkBytes = { mix: mix.readBytes, ...Object.fromEntries([...speakers].map(([k, s]) => [k, s.readBytes])) };
      if (Date.now() - savedAt > 1000) {
        savedAt = Date.now();
        await save();
        await job?.updateProgress(Math.min(99, Math.round(status.doneMs / 60_000)));
      }
      if (ended) {
        await complete(deps, prefix, m, mix, speakers, status);
        clearInterval(heartbeat);
        await save();
        return status;
      }
      await new Promise((r) => setTimeout(r, deps.pollMs ?? 1000));
    }
  } catch (err) {
    Object.assign(status, abandoned(String((err as Error).message ?? err).slice(0, 500)));
    await save().catch(() => undefined);
    throw err;
  } finally {
    clearInterval(heartbeat);
    await rm(workdir, { recursive: true, force: true });
  }
}

/** Closes the encoders and, if the mix hit the loudness target, puts every file in its place. */
async function complete(deps: StageDeps, prefix: string, m: Manifest, mix: MixStream, speakers: Map<string, SpeakerStream>, status: LiveArchiveStatus) {
  const [loud, ...regions] = await Promise.all([mix.finish(), ...m.speakers.map((sp) => speakers.get(sp.key)!.finish())]);
  status.loudness = { gainDb: Math.round(mix.gainDb * 100) / 100, I: loud.I, TP: loud.TP, measuredMs: mix.measuredMs };
  const silent = loud.I < -70;
  if (!silent && (Math.abs(loud.I - TARGET_LUFS) > LOUDNESS_TOLERANCE_LU || loud.TP > TARGET_TP + 0.5)) {
    Object.assign(status, { state: 'abandoned', reason: `loudness ${loud.I} LUFS / ${loud.TP} dBTP is off target: finalize makes the files again` });
    return;
  }
  const put = async (kind: string, relKey: string, body: Buffer | ReturnType<typeof createReadStream>, type: string, length?: number) => {
    await deps.s3.send(new PutObjectCommand({ Bucket: deps.bucket, Key: prefix + relKey, Body: body, ContentLength: length, ContentType: type, CacheControl: 'public, max-age=300' }));
    status.files[kind] = relKey;
  };
  const putFile = async (kind: string, relKey: string, file: string, type: string) => put(kind, relKey, createReadStream(file), type, (await stat(file)).size);
  await Promise.all([
    ...MIX_FORMATS.map((e) => putFile(`mix.${e}`, rel.mixArchive(e), mix.file(e), MIX_ARCHIVE[e].type)),
    ...m.speakers.map((sp) => putFile(`speaker.${sp.key}`, rel.speakerFile(sp.key), speakers.get(sp.key)!.file, 'audio/ogg')),
  ]);
  await put('speakerTimeline', rel.speakerTimeline, Buffer.from(JSON.stringify(buildTimeline(m.speakers, regions))), 'application/json');
  await put('waveform', rel.waveform, Buffer.from(JSON.stringify({ binMs: WAVEFORM_BIN_MS, peaks: mix.peaks.finish() })), 'application/json');
  Object.assign(status, { state: 'complete', durationMs: m.durationMs });
}

const abandoned = (reason: string): LiveArchiveStatus => ({ state: 'abandoned', reason, updatedAt: new Date().toISOString(), doneMs: 0, chunks: {}, chunkBytes: {}, files: {} });

export async function readLiveArchive(deps: StageDeps, prefix: string): Promise<LiveArchiveStatus | null> {
  try {
    const obj = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: prefix + rel.liveArchive }));
    return LiveArchiveStatus.parse(JSON.parse(await obj.Body!.transformToString()));
  } catch {
    return null;
  }
}
