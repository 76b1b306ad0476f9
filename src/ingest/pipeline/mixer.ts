import { RecordingClock, SAMPLE_RATE, SpeakerLane } from './timeline';

export interface MixerSink {
  /** The mix of every lane for timeline samples [pos, pos + pcm.length). */
  mix(pcm: Int16Array, pos: number): void;
  /** One speaker's own audio for the same slice; peak is its largest |sample| (0..1). */
  speaker(lane: SpeakerLane, pcm: Int16Array, pos: number, peak: number): void;
}

/** Largest sample the limiter lets through: −1 dBFS. */
export const LIMIT = 10 ** (-1 / 20);
const RELEASE_PER_SAMPLE = Math.exp(-1 / (0.15 * SAMPLE_RATE));

/**
 * Sums the lanes' finished slices. A slice is final once the wall clock is `latency` past its end,
 * which leaves late frames time to land in place. A peak limiter (instant attack, 150 ms release)
 * keeps overlapping speakers from clipping without lowering a lone speaker.
 */
export class Mixer {
  readonly lanes = new Map<string, SpeakerLane>();
  position: number;
  private env = 0;
  private readonly sum: Float32Array;
  private readonly scratch: Float32Array;

  constructor(
    private readonly clock: RecordingClock,
    private readonly blockSamples: number,
    private readonly latencySamples: number,
    private readonly sink: MixerSink,
    startPosition = 0,
  ) {
    this.position = startPosition;
    this.sum = new Float32Array(blockSamples);
    this.scratch = new Float32Array(blockSamples);
  }

  lane(identity: string, name: string, key: string): SpeakerLane {
    let lane = this.lanes.get(identity);
    if (!lane) {
      lane = new SpeakerLane(identity, name, key, this.position);
      this.lanes.set(identity, lane);
    }
    lane.name = name || lane.name;
    return lane;
  }

  /** Mixes every slice that is final by now. */
  tick(): void {
    const ready = this.clock.now() - this.latencySamples;
    while (ready >= this.position + this.blockSamples) this.mixBlock(this.blockSamples);
  }

  /** Mixes up to the given end position, waiting for no one (room end). */
  flush(end: number): void {
    while (end - this.position >= this.blockSamples) this.mixBlock(this.blockSamples);
    if (end > this.position) this.mixBlock(end - this.position);
  }

  private mixBlock(n: number): void {
    const pos = this.position;
    const sum = this.sum.subarray(0, n);
    sum.fill(0);
    const own = this.scratch.subarray(0, n);
    for (const lane of this.lanes.values()) {
      lane.take(n, own);
      let peak = 0;
      const pcm = new Int16Array(n);
      for (let i = 0; i < n; i++) {
        const v = own[i];
        sum[i] += v;
        const a = v < 0 ? -v : v;
        if (a > peak) peak = a;
        pcm[i] = toInt16(v);
      }
      this.sink.speaker(lane, pcm, pos, peak);
    }
    const out = new Int16Array(n);
    let env = this.env;
    for (let i = 0; i < n; i++) {
      const v = sum[i];
      const a = v < 0 ? -v : v;
      env = a > env ? a : env * RELEASE_PER_SAMPLE;
      out[i] = toInt16(env > LIMIT ? (v * LIMIT) / env : v);
    }
    this.env = env;
    this.position += n;
    this.sink.mix(out, pos);
  }
}

function toInt16(v: number): number {
  const s = Math.round(v * 32767);
  return s > 32767 ? 32767 : s < -32768 ? -32768 : s;
}
