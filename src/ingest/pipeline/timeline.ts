/**
 * One clock per recording. Every speaker's audio is written at a sample position on it, and the
 * mixer reads finished slices off it. Positions are sample counts at 48 kHz from the recording's
 * start, so an hour-long room cannot drift by frame rounding.
 */
import { SAMPLE_RATE } from '../../contracts/audio'; export { SAMPLE_RATE };

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
 * end by sample count from an anchor. Each frame gives an estimate of the anchor (its arrival
 * minus the samples before it); the event loop can only make frames late, never early, so:
 * - the anchor is the earliest estimate seen over a short warm-up (frames queued while the
 *   subscription was set up arrive in a burst, and the first one is no reference);
 * - a frame that arrives more than 10 ms earlier than its place means the anchor was late: move it;
 * - if every frame of a 2 s window arrived over 10 ms late, the stream really lost time (gap, drift):
 *   move the anchor forward, which leaves silence in place. After the connection to LiveKit dropped
 *   and came back (expectDiscontinuity), a lost stretch is likely, so for a while the window is
 *   300 ms: the audio after it is back at its place within a third of a second, not two.
 * Apart from the anchor, a delay shift (from the receiver's jitter-buffer stats, see
 * jitter-compensation.ts) moves the audio by what the jitter buffer added or took away; it is
 * applied at a quiet frame, where moving audio cannot be heard, or after 2 s in any case.
 */
export class FramePlacer {
  private count = 0;
  private anchor = Infinity;
  private warmup: Int16Array[] | undefined = [];
  private warmupSamples = 0;
  private written = -Infinity;
  private windowEnd = 0;
  private windowMin = Infinity;
  corrections: number[] = [];
  lateSamples = 0;
  private shift = 0;
  private targetShift = 0;
  private shiftWanted = -1;
  /** Until this sample count, windows are QUICK_WINDOW long. */
  private quickUntil = 0;
  /** How many delay shifts were applied, and the last few (samples), for the track's log. */
  shiftCount = 0;
  recentShifts: number[] = [];

  /** 150 ms and at least three frames, whatever their size (a subscription burst can hold two 100 ms frames). */
  static readonly WARMUP = (15 * SAMPLE_RATE) / 100;
  static readonly WINDOW = 2 * SAMPLE_RATE;
  static readonly QUICK_WINDOW = (3 * SAMPLE_RATE) / 10;
  /** How long after a reconnect the quick windows last (audio samples). */
  static readonly QUICK_FOR = 5 * SAMPLE_RATE;
  static readonly TOLERANCE = SAMPLE_RATE / 100;
  /** Delay shifts under 2 ms are left alone. */
  static readonly SHIFT_DEADBAND = (2 * SAMPLE_RATE) / 1000;
  /** Below −50 dBFS a frame is quiet enough to move audio at. */
  static readonly QUIET_PEAK = 104;

  constructor(
    private readonly lane: SpeakerLane,
    private readonly clock: RecordingClock,
    /** Told each delay shift as it is applied (for the metric). */
    private readonly onShift?: (samples: number) => void,
  ) {}

  push(data: Int16Array, arrival = this.clock.now()): void {
    this.count += data.length;
    const estimate = arrival - this.count;
    if (this.warmup) {
      this.warmup.push(data);
      this.warmupSamples += data.length;
      if (estimate < this.anchor) this.anchor = estimate;
      if (this.warmupSamples < FramePlacer.WARMUP || this.warmup.length < 3) return;
      const frames = this.warmup;
      this.warmup = undefined;
      let at = this.count - this.warmupSamples;
      for (const f of frames) {
        this.place(f, this.anchor + at);
        at += f.length;
      }
      this.windowEnd = this.count + this.window;
      return;
    }
    if (estimate < this.windowMin) this.windowMin = estimate;
    if (estimate < this.anchor - FramePlacer.TOLERANCE) {
      this.corrections.push(estimate - this.anchor);
      this.anchor = estimate;
    } else if (this.count >= this.windowEnd) {
      if (this.windowMin > this.anchor + FramePlacer.TOLERANCE) {
        this.corrections.push(this.windowMin - this.anchor);
        this.anchor = this.windowMin;
      }
      this.windowEnd = this.count + this.window;
      this.windowMin = Infinity;
    }
    this.applyShift(data);
    this.place(data, this.anchor + this.shift + this.count - data.length);
  }

  /**
   * The connection to the room dropped or came back: the stream may have lost time. A stall of the
   * event loop delivers frames in a burst that catches up within the window, so a 300 ms window
   * still tells it from lost time.
   */
  expectDiscontinuity(): void {
    this.quickUntil = this.count + FramePlacer.QUICK_FOR;
    if (this.warmup) return;
    this.windowEnd = Math.min(this.windowEnd, this.count + FramePlacer.QUICK_WINDOW);
    this.windowMin = Infinity;
  }

  private get window(): number {
    return this.count < this.quickUntil ? FramePlacer.QUICK_WINDOW : FramePlacer.WINDOW;
  }

  /** The shift the jitter buffer's delay now calls for (samples; negative = earlier), from the stats. */
  setDelayShift(samples: number): void {
    this.targetShift = samples;
  }

  private applyShift(data: Int16Array): void {
    if (Math.abs(this.targetShift - this.shift) < FramePlacer.SHIFT_DEADBAND) {
      this.shiftWanted = -1;
      return;
    }
    if (this.shiftWanted < 0) this.shiftWanted = this.count;
    let peak = 0;
    for (let i = 0; i < data.length; i++) peak = Math.max(peak, Math.abs(data[i]));
    if (peak > FramePlacer.QUIET_PEAK && this.count - this.shiftWanted < FramePlacer.WINDOW) return;
    this.shift = this.targetShift;
    this.shiftCount++;
    this.recentShifts.push(this.shift);
    if (this.recentShifts.length > 20) this.recentShifts.shift(); // a day-long track must not grow its log line
    this.shiftWanted = -1;
    this.onShift?.(this.shift);
  }

  private place(data: Int16Array, pos: number): void {
    let frame = data;
    if (pos < this.written) {
      // The anchor moved back: drop what would overlap audio already placed.
      frame = data.subarray(Math.min(data.length, this.written - pos));
      pos = this.written;
    }
    this.lateSamples += this.lane.write(pos, frame);
    this.written = Math.max(this.written, pos + frame.length);
  }
}
