/**
 * One clock per recording. Every speaker's audio is written at a sample position on it, and the
 * mixer reads finished slices off it. Positions are sample counts at 48 kHz from the recording's
 * start, so an hour-long room cannot drift by frame rounding.
 */
export const SAMPLE_RATE = 48_000;

export class RecordingClock {
  /** performance.now() at timeline position 0. */
  private readonly origin: number;
  /** Wall-clock ms (epoch) at timeline position 0. */
  readonly startedAtMs: number;

  constructor(startedAtMs?: number) {
    const nowPerf = performance.now();
    const nowEpoch = performance.timeOrigin + nowPerf;
    this.startedAtMs = startedAtMs ?? nowEpoch;
    this.origin = nowPerf - (nowEpoch - this.startedAtMs);
  }

  /** Timeline position (samples) of this instant. */
  now(): number {
    return Math.round(((performance.now() - this.origin) * SAMPLE_RATE) / 1000);
  }
}

/**
 * One speaker's audio on the timeline, from the mixer's read position on. Several sources of one
 * speaker (a re-published track) add into the same lane.
 */
export class SpeakerLane {
  private buf = new Float32Array(SAMPLE_RATE);
  /** Timeline position of buf[0]: everything before it has been mixed. */
  private base: number;
  /** Highest position written so far (exclusive). */
  private high: number;

  constructor(
    readonly identity: string,
    public name: string,
    readonly key: string,
    start: number,
  ) {
    this.base = start;
    this.high = start;
  }

  get readPosition(): number {
    return this.base;
  }

  /** Adds samples at a timeline position; returns how many samples arrived too late to be mixed. */
  write(pos: number, data: Int16Array): number {
    let from = 0;
    if (pos < this.base) from = Math.min(data.length, this.base - pos);
    const end = pos + data.length;
    if (end > this.base + this.buf.length) {
      let size = this.buf.length;
      while (end > this.base + size) size *= 2;
      const grown = new Float32Array(size);
      grown.set(this.buf);
      this.buf = grown;
    }
    const off = pos - this.base;
    for (let i = from; i < data.length; i++) this.buf[off + i] += data[i] / 32768;
    if (end > this.high) this.high = end;
    return from;
  }

  /** Takes the next n samples (silence where nothing was written) and moves the read position on. */
  take(n: number, out: Float32Array): void {
    out.set(this.buf.subarray(0, n));
    this.buf.copyWithin(0, n);
    this.buf.fill(0, this.buf.length - n);
    this.base += n;
  }
}

/**
 * Places one track's frames on the timeline. rtc delivers a remote track's audio as a steady
 * 10 ms stream (silence included) from subscription to unsubscription, so frames are laid end to
 * end by sample count. The stream's pace is checked against the wall clock over 2 s windows: the
 * smallest lateness in a window is the true offset (event-loop stalls only ever add lateness), and
 * when it moves past ±10 ms the position is corrected (silence inserted, or samples dropped).
 */
export class FramePlacer {
  private next: number | undefined;
  private written = 0;
  private windowStart = 0;
  private minDev = Infinity;
  corrections = 0;
  lateSamples = 0;

  static readonly WINDOW = 2 * SAMPLE_RATE;
  static readonly TOLERANCE = SAMPLE_RATE / 100;

  constructor(
    private readonly lane: SpeakerLane,
    private readonly clock: RecordingClock,
  ) {}

  push(data: Int16Array, arrival = this.clock.now()): number {
    const est = arrival - data.length;
    if (this.next === undefined) {
      this.next = est;
      this.windowStart = est;
    }
    const dev = est - this.next;
    if (dev < this.minDev) this.minDev = dev;
    if (this.next - this.windowStart >= FramePlacer.WINDOW) {
      if (Math.abs(this.minDev) > FramePlacer.TOLERANCE) {
        this.next += this.minDev;
        this.corrections++;
      }
      this.windowStart = this.next;
      this.minDev = Infinity;
    }
    let pos = this.next;
    let frame = data;
    if (pos < this.written) {
      // Corrected backwards: drop what would overlap audio already placed.
      frame = data.subarray(Math.min(data.length, this.written - pos));
      pos = this.written;
    }
    this.lateSamples += this.lane.write(pos, frame);
    this.next += data.length;
    this.written = Math.max(this.written, pos + frame.length);
    return pos;
  }
}
