import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import type { FinalizeJob } from '../../contracts/jobs';
import { LiveArchiveStatus } from '../../contracts/live-archive';
import type { ChunkEntry, Manifest } from '../../contracts/manifest';
import { rel } from '../../contracts/recording-files';
import { RecordingDeletedError, type RecordingStore } from '../../storage/recording-store';
import { TARGET_LUFS, TARGET_TP } from '../loudness';
import { asJobError, readLiveManifest, RecordingGoneError, recordFile, StageDeps, storeFor } from '../stage';
import { buildTimeline, MIX_FORMATS, WAVEFORM_BIN_MS } from './outputs';
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
  const store = storeFor(deps, data);
  try {
    return await archive(deps, store, job);
  } catch (err) {
    throw asJobError(err, data.recordingId);
  }
}

async function archive(deps: StageDeps & LiveArchiveOptions, store: RecordingStore, job?: Job): Promise<LiveArchiveStatus> {
  // Null until the recorder has written it (this job starts with the room): failed, and tried again.
  const first = await readLiveManifest(store);
  if (!first) throw new Error(`recording ${store.recordingId} has no manifest yet`);
  const previous = await readLiveArchive(store);
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
    saving = saving.catch(() => undefined).then(() => store.putJson(rel.liveArchive, { ...status, updatedAt: new Date().toISOString() }));
    return saving;
  };
  await save();
  const heartbeat = setInterval(() => void save().catch(() => undefined), HEARTBEAT_MS);
  let savedAt = 0;
  let scratch = 0;
  try {
    for (;;) {
      const m = await readLiveManifest(store);
      if (!m) throw new Error(`the manifest of ${store.recordingId} has gone`);
      const ended = m.status !== 'recording';
      const chunkMs = m.speakerFormat.chunkSeconds * 1000;
      const mixNewest = Math.max(-1, ...m.mix.chunks.map((c) => c.index));
      const feed = (stream: ArchiveStream, chunks: ChunkEntry[]) => feedChunks(stream, chunks, {
        read: (c) => readChunk(store, c, path.join(workdir, `c${scratch++ % 8}.flac`)),
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
        await complete(store, m, mix, speakers, status);
        clearInterval(heartbeat);
        await save();
        return status;
      }
      await new Promise((r) => setTimeout(r, deps.pollMs ?? 1000));
    }
  } catch (err) {
    clearInterval(heartbeat);
    // A deleted recording gets nothing more (the save would be refused anyway).
    if (!(err instanceof RecordingDeletedError) && !(err instanceof RecordingGoneError)) {
      Object.assign(status, abandoned(String((err as Error).message ?? err).slice(0, 500)));
      await save().catch(() => undefined);
    }
    throw err;
  } finally {
    clearInterval(heartbeat);
    await rm(workdir, { recursive: true, force: true });
  }
}

/** Closes the encoders and, if the mix hit the loudness target, puts every file in its place. */
async function complete(store: RecordingStore, m: Manifest, mix: MixStream, speakers: Map<string, SpeakerStream>, status: LiveArchiveStatus) {
  const [loud, ...regions] = await Promise.all([mix.finish(), ...m.speakers.map((sp) => speakers.get(sp.key)!.finish())]);
  status.loudness = { gainDb: Math.round(mix.gainDb * 100) / 100, I: loud.I, TP: loud.TP, measuredMs: mix.measuredMs };
  const silent = loud.I < -70;
  if (!silent && (Math.abs(loud.I - TARGET_LUFS) > LOUDNESS_TOLERANCE_LU || loud.TP > TARGET_TP + 0.5)) {
    Object.assign(status, { state: 'abandoned', reason: `loudness ${loud.I} LUFS / ${loud.TP} dBTP is off target: finalize makes the files again` });
    return;
  }
  // Each file with the table's content type and cache policy; listed under its manifest.files id
  // for finalize to take over.
  const put = async (relKey: string, body: Buffer | ReturnType<typeof createReadStream>, contentLength?: number) => {
    await store.put(relKey, body, { contentLength });
    recordFile(status.files, relKey);
  };
  const putFile = async (relKey: string, file: string) => put(relKey, createReadStream(file), (await stat(file)).size);
  await Promise.all([
    ...MIX_FORMATS.map((e) => putFile(rel.mixArchive(e), mix.file(e))),
    ...m.speakers.map((sp) => putFile(rel.speakerFile(sp.key), speakers.get(sp.key)!.file)),
  ]);
  await put(rel.speakerTimeline, Buffer.from(JSON.stringify(buildTimeline(m.speakers, regions))));
  await put(rel.waveform, Buffer.from(JSON.stringify({ binMs: WAVEFORM_BIN_MS, peaks: mix.peaks.finish() })));
  Object.assign(status, { state: 'complete', durationMs: m.durationMs });
}

const abandoned = (reason: string): LiveArchiveStatus => ({ state: 'abandoned', reason, updatedAt: new Date().toISOString(), doneMs: 0, chunks: {}, chunkBytes: {}, files: {} });

/** The live archive's progress (final/live-archive.json); null when there is none or it cannot be read. An S3 error is thrown. */
export async function readLiveArchive(store: RecordingStore): Promise<LiveArchiveStatus | null> {
  const text = await store.getText(rel.liveArchive);
  if (text === null) return null;
  try {
    return LiveArchiveStatus.parse(JSON.parse(text));
  } catch {
    return null;
  }
}
