/**
 * An experimental placement rule, kept for bench/placement.ts to compare: a track's jitter-buffer
 * delay as a starting delay plus NetEq's own count of audio it played that was not sent (inserted
 * + concealed, not silent) less what it skipped (removed), read every 250 ms, with gaps measured
 * afresh and a guard against loss. Against the witness it tracks the playout lag best of all
 * candidates (what it leaves spreads 5–15 ms); in the recorder, in full test runs of 2026-11-30,
 * it failed the long-room, resume and replay tests that the shipped rule (src/ingest/pipeline/
 * jitter-compensation.ts) passes: see issue 19's closing note. Not used by roomcast.
 */
import type { ReceiveStats } from '../../src/ingest/livekit/receive-stats';
import { SAMPLE_RATE } from '../../src/contracts/audio';

/** A reading or window needs this much emitted audio (100 ms) to count. */
const MIN_SAMPLES = SAMPLE_RATE / 10;
/**
 * Readings are taken this often. The buffer can jump at any moment (a load spike on either side:
 * 40 → 80 ms within a second in bench/placement.ts), and audio between the jump and the next
 * reading is misplaced by the jump. One reading costs ~0.3 ms of CPU (bench/track-stats-cost.ts):
 * ~1.2 ms per track per second.
 */
export const COUNT_READ_EVERY_MS = 250;
/** Every track is placed as if its jitter buffer held it this long (40 ms: typical on a LAN). */
const NOMINAL_DELAY = (40 * SAMPLE_RATE) / 1000;
/** Past this (25 ms) from the buffer's own mean over two successive seconds of audio, the running delay is reset to it. */
const GUARD_SAMPLES = (25 * SAMPLE_RATE) / 1000;
const GUARD_SECONDS = 2;
/** What NetEq holds when it starts playing: one 20 ms Opus packet. */
const STARTING_DELAY = (20 * SAMPLE_RATE) / 1000;

/**
 * Turns a track's receive stats into the shift its audio needs on the timeline.
 *
 * libwebrtc's jitter buffer (NetEq) hands out a steady 10 ms of audio per pull whatever it holds,
 * so the moment a sample comes out (its playout) is the moment its packet arrived plus the time it
 * spent in the buffer — a different time per track (a track that has seen jitter holds a deeper
 * buffer than a fresh one: 30–80 ms measured side by side) and per moment. NetEq changes that time
 * only by playing audio that was not sent (stretching a packet, concealing one that is late) or by
 * not playing audio that was (accelerating), and counts both: the delay now is the delay at the
 * start plus inserted + concealed − removed samples since. bench/placement.ts measured the
 * candidates against senders on a known clock: that count follows every change of the playout
 * lag to the sample (what it leaves is constant per track: 5–15 ms spread over three speakers of
 * different track ages, in three runs), where the mean buffer delay over each window
 * (jitterBufferDelay / emitted) misses changes by up to 10 ms and spreads 15–19 ms, the target and
 * minimum delays miss by 10–40 ms, and the running mean since subscription lags behind every change.
 *
 * Every track starts from one delay (NetEq starts playing on its first packet) and the count
 * runs from the first reading, a quarter of a second after subscription, so a late joiner, a
 * re-published microphone and every track of a resumed recorder are placed by the same rule from
 * their first words. After a gap (muted, DTX silence, a lost connection: a window with little or
 * mostly concealed audio) concealment stood for audio never sent, or late packets are still to
 * be played: the buffer's own mean over the first window after it is taken instead. Packet loss
 * is concealed too and would look like delay to the count, so where the count and the buffer's
 * mean over a second of audio part by more than 25 ms twice running, the mean wins. Each track's
 * audio is moved by (nominal − delay).
 *
 * On the real stack (test/integration/placement.test.ts) a track's bursts keep their place once
 * its first second is past, but NetEq's first second on a track (the buffer's mean rises 20–30 ms
 * with nothing counted) and differences between tracks of up to ~25 ms remain: 24–38 of 80 bursts
 * within ±15 ms of the room's first burst, p50 18–39 ms, max 71–100 ms.
 */
export class CountCompensation {
  private prev: ReceiveStats | undefined;
  /** The reading that starts the guard's window (a second of audio or more). */
  private guardFrom: ReceiveStats | undefined;
  /** The delay the track's audio is running at (samples). */
  private delay = 0;
  /** A window without packets went by: the next is measured afresh. */
  private gap = false;
  private disagreeing = 0;

  /** @param maxEarlier how far audio may be moved earlier (samples): the mixer must not have read it yet */
  constructor(private readonly maxEarlier: number) {}

  /** Feeds a reading; returns the shift (samples; negative = earlier) when there is a new estimate. */
  update(cur: ReceiveStats): number | undefined {
    const prev = this.prev;
    if (!prev || cur.jitterBufferEmittedCount < prev.jitterBufferEmittedCount) {
      // First reading (or a new receiver): NetEq starts playing on its first packet, so every
      // track starts from the same delay and what it stretched since says the rest. Unless the
      // start was mostly concealment (subscribed while muted): then the buffer's own mean.
      if (cur.jitterBufferEmittedCount < MIN_SAMPLES) return undefined;
      this.delay =
        cur.concealedSamples > cur.jitterBufferEmittedCount / 4
          ? (cur.jitterBufferDelay / cur.jitterBufferEmittedCount) * SAMPLE_RATE
          : STARTING_DELAY + stretched(cur);
      this.gap = false;
      this.disagreeing = 0;
      this.guardFrom = cur;
    } else {
      const emitted = cur.jitterBufferEmittedCount - prev.jitterBufferEmittedCount;
      const concealed = cur.concealedSamples - prev.concealedSamples;
      if (emitted < MIN_SAMPLES) {
        // Too little decoded to measure (stats are snapshots, not always fresh). Concealment
        // meanwhile means no packets came (muted, DTX silence, a lost connection): a gap.
        if (concealed >= MIN_SAMPLES / 2) this.gap = true;
        return undefined;
      }
      if (concealed > emitted / 4) {
        // Mostly concealed: speech stopping under DTX, or a stall whose late packets are still to
        // come. Either way the buffer is measured afresh once audio flows again.
        this.gap = true;
      } else if (this.gap) {
        // After a gap concealment stood for audio never sent (or was followed by a pile of late
        // packets: a 150 ms stall left a 257 ms buffer in the recording test), and NetEq starts
        // its buffer over: the buffer's own mean.
        this.delay = ((cur.jitterBufferDelay - prev.jitterBufferDelay) / emitted) * SAMPLE_RATE;
        this.gap = false;
        this.disagreeing = 0;
        this.guardFrom = cur;
      } else {
        this.delay += stretched(cur) - stretched(prev);
        this.guard(cur);
      }
    }
    this.prev = cur;
    return Math.max(-this.maxEarlier, Math.round(NOMINAL_DELAY - this.delay));
  }

  /** Lost packets are concealed too and look like delay to the count: the buffer's own mean over each second of audio keeps it from running away. */
  private guard(cur: ReceiveStats): void {
    const from = this.guardFrom!;
    const emitted = cur.jitterBufferEmittedCount - from.jitterBufferEmittedCount;
    if (emitted < SAMPLE_RATE) return;
    const measured = ((cur.jitterBufferDelay - from.jitterBufferDelay) / emitted) * SAMPLE_RATE;
    this.guardFrom = cur;
    // Both ways: a count above the buffer is loss; a buffer above the count is delay NetEq did not
    // count (a stall in silence is silent concealment) or a network quicker than at the start
    // (then the track moves off its first words: the 20–70 ms left in placement.test). Taking the
    // buffer's side only for loss left the recording test's audio 70–130 ms late after a stall.
    this.disagreeing = Math.abs(this.delay - measured) > GUARD_SAMPLES ? this.disagreeing + 1 : 0;
    if (this.disagreeing >= GUARD_SECONDS) {
      this.delay = measured;
      this.disagreeing = 0;
    }
  }
}

/**
 * Samples NetEq played that were not sent (stretched, concealed) less those it skipped, since
 * subscription. Silent concealment is left out: with DTX (on in LiveKit's clients) NetEq conceals
 * the silence between comfort-noise packets, and counting it moved a speaker 180–250 ms (clamped)
 * in the replay test, cutting words.
 */
function stretched(r: ReceiveStats): number {
  return r.insertedSamplesForDeceleration + r.concealedSamples - (r.silentConcealedSamples ?? 0) - r.removedSamplesForAcceleration; // (absent in runs saved before it was read)
}

