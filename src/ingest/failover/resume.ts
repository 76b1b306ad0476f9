import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as HLS from 'hls-parser';
import { rel } from '../../contracts/layout';
import type { ChunkEntry, Manifest } from '../../contracts/manifest';
import { decodePcm } from '../../shared/ffmpeg';
import { concatPcm } from '../../shared/wav';
import type { RecordingStore } from '../../storage/recording-store';
import { SAMPLE_RATE } from '../../contracts/audio';
import type { PlaylistSegment } from '../outputs/playlists';

/**
 * Where a recording that lost its ingest (crash, kill, lost lock) goes on: after the last HLS
 * segment already listed, on the same timeline (the clock keeps the original start). The chunks
 * that hold that point are read back, so the resumed writers rewrite them with the old audio
 * first: nothing that reached S3 is lost, and the gap up to the first new audio stays as silence.
 */
export interface ResumePoint {
  manifest: Manifest;
  segments: PlaylistSegment[];
  /** Timeline position (samples) the resumed mixer starts at. */
  position: number;
  /** Old audio of the chunk holding `position`, per stream ('mix' or a speaker identity), from the chunk's start. */
  old: Map<string, { chunkIndex: number; pcm: Int16Array }>;
  /** How long finding it took (spool recovery, reading back the chunks), for the log. */
  prepareMs?: number;
  /** When this ingest took the job. */
  pickedUpAt?: string;
  /** Its steps (ms): reading the playlist, recovering the spool, reading back the chunks. */
  steps?: Record<string, number>;
}

/**
 * `segments`: the event playlist's (readSegments) plus any recovered from a dead process's spool;
 * `known`: chunks' audio already at hand (recovered from that spool), by key: not read back.
 */
export async function findResumePoint(store: RecordingStore, manifest: Manifest, segments: PlaylistSegment[], known = new Map<string, Int16Array>()): Promise<ResumePoint> {
  const last = segments[segments.length - 1];
  const startedAtMs = Date.parse(manifest.startedAt);
  const position = last ? Math.round(((last.programDateTime.getTime() - startedAtMs) / 1000 + last.duration) * SAMPLE_RATE) : 0;
  const chunkSamples = manifest.speakerFormat.chunkSeconds * SAMPLE_RATE;
  const k = Math.floor(position / chunkSamples);
  const old = new Map<string, { chunkIndex: number; pcm: Int16Array }>();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-resume-'));
  try {
    const streams: Array<[string, ChunkEntry[]]> = [['mix', manifest.mix.chunks], ...manifest.speakers.map((s) => [s.identity, s.chunks] as [string, ChunkEntry[]])];
    // All at once: every second spent here is audio the room loses (the gap).
    await Promise.all(
      streams.map(async ([name, chunks], i) => {
        const c = chunks.find((x) => x.index === k);
        if (!c) return;
        const have = known.get(c.key);
        if (have) return void old.set(name, { chunkIndex: k, pcm: have });
        const file = path.join(dir, `chunk-${i}.flac`);
        const bytes = await store.getBytes(c.key);
        if (!bytes) throw new Error(`chunk ${c.key} is listed in the manifest but not in S3`);
        await writeFile(file, bytes);
        const parts: Int16Array[] = [];
        await decodePcm(file, SAMPLE_RATE, (p) => parts.push(Int16Array.from(p)));
        old.set(name, { chunkIndex: k, pcm: concatPcm(parts) });
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { manifest, segments, position, old };
}

/** The segments an event playlist in S3 lists (none if there is no playlist yet). */
export async function readSegments(store: RecordingStore): Promise<PlaylistSegment[]> {
  const text = await store.getText(rel.eventPlaylist);
  if (text === null) return [];
  const playlist = HLS.parse(text) as HLS.types.MediaPlaylist;
  return playlist.segments.map((s) => ({
    seq: Number(/seg_(\d+)\.m4s$/.exec(s.uri)![1]),
    uri: s.uri,
    duration: s.duration,
    programDateTime: s.programDateTime!,
    discontinuity: !!s.discontinuity,
  }));
}

/** Old audio laid over a stream's new output where it has some (the part of a chunk written before the crash). */
export class OldAudio {
  constructor(
    private readonly start: number,
    private readonly pcm: Int16Array,
  ) {}

  /** The old samples from the chunk's start up to `pos`, zero-padded: a resumed writer's lead-in. */
  leadUpTo(pos: number): Int16Array {
    const out = new Int16Array(Math.max(0, pos - this.start));
    out.set(this.pcm.subarray(0, out.length));
    return out;
  }

  /** Replaces the samples of a block at `pos` that the old audio covers. */
  overlay(pos: number, block: Int16Array): Int16Array {
    const from = Math.max(pos, this.start);
    const to = Math.min(pos + block.length, this.start + this.pcm.length);
    if (to <= from) return block;
    const out = Int16Array.from(block);
    out.set(this.pcm.subarray(from - this.start, to - this.start), from - pos);
    return out;
  }

  get end(): number {
    return this.start + this.pcm.length;
  }
}
