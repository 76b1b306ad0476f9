import type { MixOutput } from './output';
import path from 'node:path';
import type { Logger } from '../../shared/log';
import type { ChunkEntry } from '../../contracts/manifest';
import { SegmentingEncoder } from './encoder';
import { SAMPLE_RATE } from '../pipeline/timeline';
import type { Uploader } from '../spool/uploader';

/**
 * One lossless stream (a speaker's own track, or the mix) as FLAC chunks on the recording's
 * timeline: chunk k covers [k·chunkSeconds, (k+1)·chunkSeconds), whenever the stream began, so
 * every stream's chunks line up with every other's.
 */
export class FlacChunkWriter implements MixOutput {
  private readonly encoder: SegmentingEncoder;

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
  }) {
    const chunkSamples = o.chunkSeconds * SAMPLE_RATE;
    const first = Math.floor(o.startPosition / chunkSamples);
    const sample = o.relKey(0);
    this.encoder = new SegmentingEncoder({
      name: o.name,
      // 100 ms FLAC frames divide any whole-second chunk exactly.
      codec: ['-c:a', 'flac', '-frame_size', String(SAMPLE_RATE / 10)],
      format: 'flac',
      dir: path.join(o.spoolDir, path.dirname(sample)),
      pattern: path.basename(sample).replace(/\d+(?=\.flac$)/, (d) => `%0${d.length}d`),
      segmentSeconds: o.chunkSeconds,
      startNumber: first,
      log: o.log,
      onSegment: (s) => {
        const key = o.relKey(s.index);
        o.uploader.enqueue({
          key,
          file: s.file,
          onDone: (bytes) =>
            o.onUploaded({
              index: s.index,
              key,
              startMs: s.index * o.chunkSeconds * 1000,
              durationMs: Math.round((s.end - s.start) * 10000) / 10,
              bytes,
            }),
        });
      },
    });
    // Lead-in from the chunk boundary (silence, or the audio it had) keeps the chunk aligned to the timeline.
    const lead = o.startPosition - first * chunkSamples;
    if (lead > 0) this.encoder.write(o.lead && o.lead.length === lead ? o.lead : new Int16Array(lead));
  }

  get pid(): number | undefined {
    return this.encoder.pid;
  }

  get pids(): number[] {
    return this.encoder.pid ? [this.encoder.pid] : [];
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
