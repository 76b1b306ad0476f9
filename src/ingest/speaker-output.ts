import path from 'node:path';
import { rel } from '../contracts/layout';
import type { Logger } from '../shared/log';
import { SegmentingEncoder } from './encoder';
import type { ManifestStore } from './manifest-store';
import { SAMPLE_RATE, SpeakerLane } from './timeline';

/** Level above which a speaker's own track counts as audible (−46 dBFS). */
const AUDIBLE = 0.005;

/**
 * Each speaker's own track as FLAC chunks on the recording's timeline: chunk k covers
 * [k·chunkSeconds, (k+1)·chunkSeconds) for every speaker, so the files line up in any editor.
 */
export class SpeakerOutputs {
  private readonly encoders = new Map<string, SegmentingEncoder>();

  constructor(
    private readonly o: {
      spoolDir: string;
      prefix: string;
      chunkSeconds: number;
      uploader: import('./uploader').Uploader;
      manifest: ManifestStore;
      log: Logger;
    },
  ) {}

  write(lane: SpeakerLane, pcm: Int16Array, pos: number, peak: number): void {
    let enc = this.encoders.get(lane.identity);
    if (!enc) {
      const chunkSamples = this.o.chunkSeconds * SAMPLE_RATE;
      const first = Math.floor(pos / chunkSamples);
      enc = this.start(lane, first);
      // Lead-in silence from the chunk boundary keeps every chunk aligned to the timeline.
      const lead = pos - first * chunkSamples;
      if (lead > 0) enc.write(new Int16Array(lead));
    }
    enc.write(pcm);
    if (peak >= AUDIBLE) {
      let i = 0;
      while (i < pcm.length && Math.abs(pcm[i]) < AUDIBLE * 32767) i++;
      const atMs = ((pos + i) / SAMPLE_RATE) * 1000;
      const endMs = ((pos + pcm.length) / SAMPLE_RATE) * 1000;
      this.o.manifest.update((m) => {
        const s = m.speakers.find((x) => x.identity === lane.identity);
        if (!s) return;
        if (s.firstAudioMs === null) s.firstAudioMs = round(atMs);
        s.lastAudioMs = round(endMs);
      });
    }
  }

  private start(lane: SpeakerLane, firstChunk: number): SegmentingEncoder {
    const chunkDir = path.join(this.o.spoolDir, path.dirname(rel.speakerChunk(lane.key, 0)));
    const enc = new SegmentingEncoder({
      name: `speaker:${lane.key}`,
      codec: ['-c:a', 'flac', '-frame_size', '4800'],
      format: 'flac',
      dir: chunkDir,
      pattern: 'chunk_%06d.flac',
      segmentSeconds: this.o.chunkSeconds,
      startNumber: firstChunk,
      log: this.o.log,
      onSegment: (s) => {
        const key = rel.speakerChunk(lane.key, s.index);
        this.o.uploader.enqueue({
          key: this.o.prefix + key,
          file: s.file,
          contentType: 'audio/flac',
          cacheControl: 'private, max-age=31536000, immutable',
          onDone: (bytes) =>
            this.o.manifest.update((m) => {
              const sp = m.speakers.find((x) => x.identity === lane.identity);
              if (!sp || sp.chunks.some((c) => c.index === s.index)) return;
              sp.chunks.push({
                index: s.index,
                key,
                startMs: s.index * this.o.chunkSeconds * 1000,
                durationMs: round((s.end - s.start) * 1000),
                bytes,
              });
              sp.chunks.sort((a, b) => a.index - b.index);
            }),
        });
      },
    });
    this.encoders.set(lane.identity, enc);
    return enc;
  }

  async close(): Promise<void> {
    await Promise.all([...this.encoders.values()].map((e) => e.close()));
  }

  kill(): void {
    for (const e of this.encoders.values()) e.kill();
  }

  get pids(): number[] {
    return [...this.encoders.values()].map((e) => e.pid).filter((p): p is number => !!p);
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
