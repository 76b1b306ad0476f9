import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { rel } from '../../contracts/layout';
import type { Manifest } from '../../contracts/manifest';
import { decodePcm } from '../../shared/ffmpeg';
import { concatPcm } from '../../shared/wav';
import type { Logger } from '../../shared/log';
import { addChunk } from '../outputs/flac-chunks';
import { readFragments, wholeFragmentsLength as wholeLength } from '../outputs/fmp4';
import type { PlaylistSegment } from '../outputs/playlists';
import { SAMPLE_RATE } from '../../contracts/audio';
import type { Uploader } from './uploader';

/**
 * A spool folder per recording process: {SPOOL_DIR}/{room}/{recordingId}/{pid}-{owner}@{host}.
 * The host matters: a process id says whether its process lives only on the machine (or in the
 * container) that made it.
 */
const HOST = hostname().replace(/[^A-Za-z0-9_.-]/g, '_');
export const ownerDirName = (owner: string) => `${process.pid}-${owner}@${HOST}`;

/** Owners recording in this process right now: their folders are live even though the pid is ours. */
export const liveOwners = new Set<string>();

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Uploads what a dead ingest process left in its spool for this recording (same machine): FLAC
 * chunks go to their keys and into the manifest, HLS segments that follow the listed ones are
 * appended to `segments`. Runs before the recording resumes, so the resumed writers start after
 * them. A folder whose process is still alive is left alone (it will notice it lost the room).
 */
export async function recoverSpool(o: {
  /** The recording's uploader: the same retries and headers as a live recording's files. */
  uploader: Uploader;
  recordingDir: string;
  ownDir: string;
  manifest: Manifest;
  segments: PlaylistSegment[];
  log: Logger;
}): Promise<{ files: number; segments: number; pcm: Map<string, Int16Array> }> {
  let files = 0;
  let added = 0;
  /** The chunks' audio by key (relative to the recording): the resume needs some of it back. */
  const pcm = new Map<string, Int16Array>();
  const owners = await readdir(o.recordingDir).catch(() => [] as string[]);
  for (const owner of owners) {
    const dir = path.join(o.recordingDir, owner);
    const [proc, host] = owner.split('@');
    const [pidText, ownerId] = proc.split('-');
    const pid = Number(pidText);
    // Another machine's (or container's) folder on a shared volume, another process still alive, or a
    // recorder of this very process still at work (a job handed back while it records): not ours to take.
    if (dir === o.ownDir || host !== HOST || !Number.isInteger(pid)) continue;
    if (pid === process.pid ? liveOwners.has(ownerId) : alive(pid)) continue;
    const put = async (file: string, relKey: string) => {
      const size = await o.uploader.upload({ key: relKey, file });
      files++;
      return size;
    };
    // Lossless chunks: the mix and every speaker.
    const chunkDirs: Array<{ dir: string; relKey: (i: number) => string; list: () => Manifest['mix']['chunks'] | undefined }> = [
      { dir: path.join(dir, 'mix'), relKey: rel.mixChunk, list: () => o.manifest.mix.chunks },
      ...o.manifest.speakers.map((sp) => ({ dir: path.join(dir, 'speakers', sp.key), relKey: (i: number) => rel.speakerChunk(sp.key, i), list: () => sp.chunks })),
    ];
    // In parallel (each is decoded to count its samples): the room is not recorded meanwhile.
    const chunkFiles = (
      await Promise.all(chunkDirs.map(async (cd) => (await readdir(cd.dir).catch(() => [] as string[])).map((name) => ({ cd, name, m: /^chunk_(\d+)\.flac$/.exec(name) }))))
    ).flat();
    // The resume needs back only the last chunk of each stream (the one it goes on writing).
    const lastIndex = new Map<string, number>();
    for (const { cd, m } of chunkFiles) if (m) lastIndex.set(cd.dir, Math.max(lastIndex.get(cd.dir) ?? -1, Number(m[1])));
    await forEachLimited(chunkFiles, RECOVERY_CONCURRENCY, async ({ cd, name, m }) => {
      if (!m) return;
      const file = path.join(cd.dir, name);
      const audio = await decodeAll(file);
      if (audio.length === 0) return;
      const index = Number(m[1]);
      const bytes = await put(file, cd.relKey(index));
      if (index === lastIndex.get(cd.dir)) pcm.set(cd.relKey(index), audio);
      addChunk(cd.list()!, { index, key: cd.relKey(index), startMs: index * o.manifest.speakerFormat.chunkSeconds * 1000, durationMs: Math.round((audio.length / SAMPLE_RATE) * 10000) / 10, bytes });
    });
    // HLS segments after the last listed one, in order (a cut-short last one plays up to its last whole part).
    const hlsDir = path.join(dir, path.dirname(rel.hlsSegment(0)));
    const segs = (await readdir(hlsDir).catch(() => [] as string[])).map((n) => ({ n, seq: Number(/^seg_(\d+)\.m4s$/.exec(n)?.[1] ?? NaN) })).filter((x) => Number.isInteger(x.seq)).sort((a, b) => a.seq - b.seq);
    for (const s of segs) {
      const last = o.segments[o.segments.length - 1];
      const expected = last ? last.seq + 1 : 0;
      if (s.seq < expected) continue;
      if (s.seq > expected) break;
      const file = path.join(hlsDir, s.n);
      const bytes = await readFile(file);
      const fragments = readFragments(bytes);
      const samples = fragments.reduce((n, f) => n + f.samples, 0);
      if (samples < SAMPLE_RATE / 10) break;
      // Only whole fragments go up: what a killed process left half-written is cut off.
      const whole = fragments.length ? wholeLength(bytes) : 0;
      if (whole < bytes.length) await writeFile(file, bytes.subarray(0, whole));
      await put(file, rel.hlsSegment(s.seq));
      const startedAtMs = Date.parse(o.manifest.startedAt);
      o.segments.push({
        seq: s.seq,
        uri: path.basename(rel.hlsSegment(s.seq)),
        duration: samples / SAMPLE_RATE,
        programDateTime: new Date(startedAtMs + (fragments[0].decodeTime / SAMPLE_RATE) * 1000),
        discontinuity: false,
      });
      added++;
    }
    await rm(dir, { recursive: true, force: true });
    o.log.info({ dir, files, segments: added }, 'uploaded the spool a dead ingest process left');
  }
  return { files, segments: added, pcm };
}

/**
 * Several at a time, not all: after a long S3 outage a dead spool can hold thousands of chunks,
 * and each is an FFmpeg decode and an upload.
 */
const RECOVERY_CONCURRENCY = 8;

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** What a (possibly truncated) audio file decodes to; nothing if it does not decode. */
async function decodeAll(file: string): Promise<Int16Array> {
  const parts: Int16Array[] = [];
  try {
    await decodePcm(file, SAMPLE_RATE, (p) => parts.push(Int16Array.from(p)));
  } catch {
    // A truncated file decodes up to where it was cut, then FFmpeg may complain: keep what came.
  }
  return concatPcm(parts);
}
