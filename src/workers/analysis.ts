import { SAMPLE_RATE, SPEECH_SAMPLE_RATE } from '../contracts/audio';
import { decodePcm } from '../shared/ffmpeg';

export interface SpeechRegion {
  startMs: number;
  endMs: number;
}

export const VAD = { frameMs: 20, thresholdDb: -42, bridgeMs: 400, minMs: 150 };

/**
 * Whether each 20 ms frame of PCM is above the speech threshold (RMS). Finalize and the live archive
 * analyse at the timeline's rate (so both agree), transcription at the speech rate (the default).
 */
export class FrameActivity {
  readonly active: boolean[] = [];
  private acc = 0;
  private n = 0;
  private readonly frame: number;
  private readonly threshold = 32768 * 10 ** (VAD.thresholdDb / 20);

  constructor(rate = SPEECH_SAMPLE_RATE) {
    this.frame = (rate * VAD.frameMs) / 1000;
  }

  push(pcm: Int16Array): void {
    for (let i = 0; i < pcm.length; i++) {
      this.acc += pcm[i] * pcm[i];
      if (++this.n === this.frame) {
        this.active.push(Math.sqrt(this.acc / this.frame) >= this.threshold);
        this.acc = 0;
        this.n = 0;
      }
    }
  }
}

/** Speech regions from frame activity: bridged over short pauses, very short ones dropped. */
export function regionsFrom(active: boolean[], offsetMs = 0): SpeechRegion[] {
  const regions: SpeechRegion[] = [];
  for (let i = 0; i < active.length; i++) {
    if (!active[i]) continue;
    const startMs = offsetMs + i * VAD.frameMs;
    while (i < active.length && active[i]) i++;
    const endMs = offsetMs + i * VAD.frameMs;
    const last = regions[regions.length - 1];
    if (last && startMs - last.endMs < VAD.bridgeMs) last.endMs = endMs;
    else regions.push({ startMs, endMs });
  }
  return regions.filter((r) => r.endMs - r.startMs >= VAD.minMs);
}

/** Peak level per bin of streamed PCM (0..1, two decimals): enough to draw a waveform. */
export class PeakBins {
  readonly peaks: number[] = [];
  private peak = 0;
  private n = 0;
  private readonly bin: number;

  constructor(rate: number, readonly binMs: number) {
    this.bin = (rate * binMs) / 1000;
  }

  push(pcm: Int16Array): void {
    for (let i = 0; i < pcm.length; i++) {
      const a = Math.abs(pcm[i]);
      if (a > this.peak) this.peak = a;
      if (++this.n === this.bin) this.flush();
    }
  }

  /** The peaks, with the last partial bin. */
  finish(): number[] {
    if (this.n > 0) this.flush();
    return this.peaks;
  }

  private flush() {
    this.peaks.push(Math.round((this.peak / 32768) * 100) / 100);
    this.peak = 0;
    this.n = 0;
  }
}

/**
 * Where a speaker talks on their own track: 20 ms frames above −42 dBFS RMS, bridged over pauses
 * shorter than 400 ms, regions shorter than 150 ms dropped. Per-speaker tracks hold one voice
 * each, so plain energy is enough and needs no model.
 */
export async function speechRegions(file: string): Promise<SpeechRegion[]> {
  const act = new FrameActivity(SAMPLE_RATE);
  await decodePcm(file, SAMPLE_RATE, (pcm) => act.push(pcm));
  return regionsFrom(act.active);
}

/** Peak level per `binMs` of a file. */
export async function waveformPeaks(file: string, binMs = 50): Promise<number[]> {
  const bins = new PeakBins(SAMPLE_RATE, binMs);
  await decodePcm(file, SAMPLE_RATE, (pcm) => bins.push(pcm));
  return bins.finish();
}
