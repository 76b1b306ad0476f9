import type { MixOutput } from './output';
import path from 'node:path';
import type { Logger } from '../../shared/log';
import type { ChunkEntry } from '../../contracts/manifest';
import { SegmentingEncoder } from './encoder';
import { FlacChunkEncoder } from './flac-encoder';
import { SAMPLE_RATE } from '../pipeline/timeline';
import type { Uploader } from '../spool/uploader';

/**
 * One lossless stream (a speaker's own track, or the mix) as FLAC chunks on the recording's
 * timeline: chunk k covers [k·chunkSeconds, (k+1)·chunkSeconds), whenever the stream began, so
 * every stream's chunks line up with every other's.
 */
export class FlacChunkWriter implements MixOutput {
  private readonly encoder: FlacChunkEncoder | SegmentingEncoder;

  constructor(o: {
    name: string;
    /** Spool folder and S3 key (relative to the recording) of chunk k. */
    spoolDir: string;
    relKey: (index: number) => string;
    chunkSeconds: number;
    /** Timeline position of the first sample that will be written. */
    startPosition: number;
    /** What the chunk holding startPosition already had before it (a resumed recording); silence otherwise. */
    lead?: Int16Array;
    uploader: Uploader;
    log: Logger;
    onUploaded: (chunk: ChunkEntry) => void;
    /** FLAC_ENCODER (config.ts): an FFmpeg per stream, or libFLAC in this process. */
    encoder: 'ffmpeg' | 'libflac';
  }) {
    const chunkSamples = o.chunkSeconds * SAMPLE_RATE;
    const first = Math.floor(o.startPosition / chunkSamples);
    const sample = o.relKey(0);
    const upload = (index: number, file: string, samples: number) => {
      const key = o.relKey(index);
      o.uploader.enqueue({
        key,
        file,
        onDone: (bytes) =>
          o.onUploaded({ index, key, startMs: index * o.chunkSeconds * 1000, durationMs: Math.round((samples / SAMPLE_RATE) * 10000) / 10, bytes }),
      });
    };
    const dir = path.join(o.spoolDir, path.dirname(sample));
    this.encoder =
      o.encoder === 'libflac'
        ? new FlacChunkEncoder({ name: o.name, dir, fileName: (i) => path.basename(o.relKey(i)), chunkSamples, startIndex: first, log: o.log, onChunk: (c) => upload(c.index, c.file, c.samples) })
        : new SegmentingEncoder({
            name: o.name,
            // 100 ms FLAC frames divide any whole-second chunk exactly.
            codec: ['-c:a', 'flac', '-frame_size', String(SAMPLE_RATE / 10)],
            format: 'flac',
            dir,
            pattern: path.basename(sample).replace(/\d+(?=\.flac$)/, (d) => `%0${d.length}d`),
            segmentSeconds: o.chunkSeconds,
            startNumber: first,
            log: o.log,
            onSegment: (s) => upload(s.index, s.file, Math.round((s.end - s.start) * SAMPLE_RATE)),
          });
    // Lead-in from the chunk boundary (silence, or the audio it had) keeps the chunk aligned to the timeline.
    const lead = o.startPosition - first * chunkSamples;
    if (lead > 0) this.encoder.write(o.lead && o.lead.length === lead ? o.lead : new Int16Array(lead));
  }

  /** Its FFmpeg's, if it has one (libFLAC encodes in this process). */
  get pids(): number[] {
    const pid = this.encoder instanceof SegmentingEncoder ? this.encoder.pid : undefined;
    return pid ? [pid] : [];
  }

  write(pcm: Int16Array): void {
    this.encoder.write(pcm);
  }

  close(): Promise<void> {
    return this.encoder.close();
  }

  kill(): void {
    this.encoder.kill();
  }
}

/** Adds a chunk to a manifest list, in order; a chunk rewritten after a resume replaces its entry. */
export function addChunk(list: ChunkEntry[], c: ChunkEntry): void {
  const at = list.findIndex((x) => x.index === c.index);
  if (at >= 0) list[at] = c;
  else list.push(c);
  list.sort((a, b) => a.index - b.index);
}
