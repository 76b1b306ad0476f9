import type { RecordingOutput } from './output';
import { rel } from '../../contracts/layout';
import type { Logger } from '../../shared/log';
import { addChunk, FlacChunkWriter } from './flac-chunks';
import type { ManifestStore } from '../spool/manifest-store';
import type { OldAudio } from '../failover/resume';
import { SAMPLE_RATE, SpeakerLane } from '../pipeline/timeline';
import type { Uploader } from '../spool/uploader';

/** Level above which a speaker's own track counts as audible (−46 dBFS). */
const AUDIBLE = 0.005;

/** Each speaker's own track as FLAC chunks on the recording's timeline, from the moment they joined. */
export class SpeakerOutputs implements RecordingOutput {
  private readonly writers = new Map<string, FlacChunkWriter>();

  constructor(
    private readonly o: {
      spoolDir: string;
      chunkSeconds: number;
      uploader: Uploader;
      manifest: ManifestStore;
      log: Logger;
      /** FLAC_ENCODER (config.ts). */
      encoder: 'ffmpeg' | 'libflac';
      /** A resumed recording: each speaker's audio already in the chunk where it goes on. */
      old?: Map<string, OldAudio>;
    },
  ) {}

  write(lane: SpeakerLane, pcm: Int16Array, pos: number, peak: number): void {
    const old = this.o.old?.get(lane.identity);
    if (old) pcm = old.overlay(pos, pcm);
    let w = this.writers.get(lane.identity);
    if (!w) {
      w = new FlacChunkWriter({
        name: `speaker:${lane.key}`,
        spoolDir: this.o.spoolDir,
        relKey: (i) => rel.speakerChunk(lane.key, i),
        chunkSeconds: this.o.chunkSeconds,
        startPosition: pos,
        lead: old?.leadUpTo(pos),
        uploader: this.o.uploader,
        log: this.o.log,
        encoder: this.o.encoder,
        onUploaded: (c) =>
          this.o.manifest.update((m) => {
            const sp = m.speakers.find((x) => x.identity === lane.identity);
            if (sp) addChunk(sp.chunks, c);
          }),
      });
      this.writers.set(lane.identity, w);
    }
    w.write(pcm);
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

  async close(): Promise<void> {
    await Promise.all([...this.writers.values()].map((w) => w.close()));
  }

  kill(): void {
    for (const w of this.writers.values()) w.kill();
  }

  get pids(): number[] {
    return [...this.writers.values()].flatMap((w) => w.pids);
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
