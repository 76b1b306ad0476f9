import type { ReceiveStats } from '../livekit/receive-stats';
import { SAMPLE_RATE } from './timeline';

/** A reading or window needs this much emitted audio (250 ms) to count. */
const MIN_SAMPLES = SAMPLE_RATE / 4;
/** Readings are taken this often while the delay holds, and sooner while it moves. */
const SETTLED_MS = 1000;
const UNSETTLED_MS = 300;
/** Two successive windows must agree within this (2 ms) before their delay is taken. */
const AGREE_SAMPLES = (2 * SAMPLE_RATE) / 1000;
/** Every track is placed as if its jitter buffer held it this long (40 ms: typical on a LAN). */
export const NOMINAL_DELAY = (40 * SAMPLE_RATE) / 1000;

/**
 * Turns a track's receive stats into the shift its audio needs on the timeline.
 *
 * libwebrtc's jitter buffer hands out a steady 10 ms of audio per pull whatever it holds, so when
 * it grows its delay (stretching audio after late packets) or shrinks it (compressing), the rest
 * of the track's audio comes out later or earlier by that much, and arrival times cannot show it.
 * The mean time the emitted samples spent in the buffer (jitterBufferDelay / emitted, over the
 * window between two readings) is that delay. Each track's audio is moved by (nominal − delay), so
 * every track, and every re-published track of one speaker, sits where its packets arrived.
 */
export class JitterCompensation {
  private prev: ReceiveStats | undefined;
  private lastWindow: number | undefined;
  /** The last window agreed with the one before (or there is nothing to compare yet). */
  settled = true;

  /** @param maxEarlier how far audio may be moved earlier (samples): the mixer must not have read it yet */
  constructor(private readonly maxEarlier: number) {}

  /** Feeds a reading; returns the shift (samples; negative = earlier) when there is a new estimate. */
  update(cur: ReceiveStats): number | undefined {
    const prev = this.prev;
    if (!prev || cur.jitterBufferEmittedCount < prev.jitterBufferEmittedCount) {
      // First reading: its running mean is the best estimate there is until two windows agree.
      if (cur.jitterBufferEmittedCount < MIN_SAMPLES) return undefined;
      this.prev = cur;
      this.lastWindow = undefined;
      return this.shiftFor((cur.jitterBufferDelay / cur.jitterBufferEmittedCount) * SAMPLE_RATE);
    }
    const emitted = cur.jitterBufferEmittedCount - prev.jitterBufferEmittedCount;
    if (emitted < MIN_SAMPLES) return undefined; // muted or silent: keep accumulating
    this.prev = cur;
    const mean = ((cur.jitterBufferDelay - prev.jitterBufferDelay) / emitted) * SAMPLE_RATE;
    const last = this.lastWindow;
    this.lastWindow = mean;
    this.settled = last !== undefined && Math.abs(mean - last) <= AGREE_SAMPLES;
    return this.settled ? this.shiftFor((mean + (last as number)) / 2) : undefined;
  }

  private shiftFor(delay: number): number {
    return Math.max(-this.maxEarlier, Math.round(NOMINAL_DELAY - delay));
  }
}

/** Readings without stats (rtc-node changed its internals?) before the watcher says so, once. */
const EMPTY_READS_REPORTED = 10;

/**
 * Reads a track's stats until stop(): every second while its delay holds, every 0.3 s while it
 * moves (a change is then taken about half a second after it settles, not seconds later).
 */
export function watchJitter(
  read: () => Promise<ReceiveStats | undefined>,
  maxEarlier: number,
  onShift: (samples: number) => void,
  onError: (err: unknown) => void,
): () => void {
  const comp = new JitterCompensation(maxEarlier);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let empty = 0;
  const next = (ms: number) => {
    if (!stopped) timer = setTimeout(tick, ms);
  };
  const tick = () => {
    read()
      .then((st) => {
        if (!st && ++empty === EMPTY_READS_REPORTED) onError(new Error(`no receive stats after ${empty} readings: jitter-buffer delay not compensated`));
        const shift = st && comp.update(st);
        if (shift !== undefined && !stopped) onShift(shift);
      })
      .catch(onError)
      .finally(() => next(comp.settled ? SETTLED_MS : UNSETTLED_MS));
  };
  next(SETTLED_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
