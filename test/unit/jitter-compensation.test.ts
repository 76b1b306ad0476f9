import { JitterCompensation, NOMINAL_DELAY } from '../../src/ingest/pipeline/jitter-compensation';
import type { RemoteTrack } from '@livekit/rtc-node';
import { receiveStats, ReceiveStats } from '../../src/ingest/livekit/receive-stats';
import { FramePlacer, RecordingClock, SAMPLE_RATE, SpeakerLane } from '../../src/ingest/pipeline/timeline';

const ms = (n: number) => (n * SAMPLE_RATE) / 1000;

/** Cumulative stats of a track whose jitter buffer held every sample `delayMs` in each period. */
function readings(periods: Array<{ seconds: number; delayMs: number }>): ReceiveStats[] {
  let delay = 0;
  let emitted = 0;
  return periods.map(({ seconds, delayMs }) => {
    emitted += seconds * SAMPLE_RATE;
    delay += seconds * SAMPLE_RATE * (delayMs / 1000);
    return { jitterBufferDelay: delay, jitterBufferEmittedCount: emitted, jitterBufferTargetDelay: 0, jitterBufferMinimumDelay: 0, lastPacketReceivedTimestamp: 0, estimatedPlayoutTimestamp: 0, concealedSamples: 0, silentConcealedSamples: 0, insertedSamplesForDeceleration: 0, removedSamplesForAcceleration: 0 };
  });
}

test('a track is moved by nominal − its jitter-buffer delay; a delay change is taken once two windows agree', () => {
  const comp = new JitterCompensation(ms(125));
  const r = readings([
    { seconds: 1, delayMs: 30 }, // first reading: its running mean counts at once
    { seconds: 1, delayMs: 30 },
    { seconds: 1, delayMs: 30 },
    { seconds: 0.3, delayMs: 55 }, // the buffer grew: one window is not enough
    { seconds: 0.3, delayMs: 55 },
  ]);
  expect(comp.update(r[0])).toBe(NOMINAL_DELAY - ms(30));
  expect(comp.update(r[1])).toBeUndefined(); // nothing to compare with yet
  expect(comp.update(r[2])).toBe(NOMINAL_DELAY - ms(30));
  expect(comp.settled).toBe(true);
  expect(comp.update(r[3])).toBeUndefined();
  expect(comp.settled).toBe(false); // the watcher reads again sooner
  expect(comp.update(r[4])).toBe(NOMINAL_DELAY - ms(55)); // 15 ms earlier than nominal: the audio waited longer
  expect(comp.settled).toBe(true);
});

test('windows with too little audio (muted) are merged into the next; no shift beyond what the mixer allows', () => {
  const comp = new JitterCompensation(ms(50));
  const base = readings([{ seconds: 1, delayMs: 40 }])[0];
  expect(comp.update(base)).toBe(0);
  const muted = { ...base, jitterBufferEmittedCount: base.jitterBufferEmittedCount + 100, jitterBufferDelay: base.jitterBufferDelay + 100 * 5 };
  expect(comp.update(muted)).toBeUndefined(); // 100 samples: not a window
  // Then two windows at 300 ms each: taken, but moved at most 50 ms earlier.
  const w1 = { ...base, jitterBufferEmittedCount: base.jitterBufferEmittedCount + ms(500), jitterBufferDelay: base.jitterBufferDelay + ms(500) * 0.3 };
  const w2 = { ...w1, jitterBufferEmittedCount: w1.jitterBufferEmittedCount + ms(500), jitterBufferDelay: w1.jitterBufferDelay + ms(500) * 0.3 };
  expect(comp.update(w1)).toBeUndefined();
  expect(comp.update(w2)).toBe(-ms(50));
});

test('counters that go back (a new receiver) start over from a first reading', () => {
  const comp = new JitterCompensation(ms(125));
  const [a, b] = readings([{ seconds: 2, delayMs: 30 }, { seconds: 1, delayMs: 30 }]);
  comp.update(a);
  comp.update(b);
  const fresh = readings([{ seconds: 0.5, delayMs: 60 }])[0];
  expect(comp.update(fresh)).toBe(NOMINAL_DELAY - ms(60));
});

/**
 * Places 10 ms frames arriving on time (loud ones where `loud` says) and returns where the marked
 * frames' first samples landed (markers are small values: quiet frames stay quiet).
 */
function run(frames: number, loud: (k: number) => boolean, shiftAt: number, shift: number, marked: number[]) {
  const lane = new SpeakerLane('a', 'A', 'a', 0);
  const placer = new FramePlacer(lane, new RecordingClock());
  for (let k = 0; k < frames; k++) {
    if (k === shiftAt) placer.setDelayShift(shift);
    const f = new Int16Array(480);
    const id = marked.indexOf(k);
    if (id >= 0) f[0] = id + 1;
    if (loud(k)) f[240] = 10_000;
    placer.push(f, (k + 1) * 480);
  }
  const out = new Float32Array((frames + 20) * 480);
  lane.take(out.length, out);
  const at = new Map<number, number>();
  out.forEach((v, i) => {
    const m = Math.round(v * 32768);
    if (m > 0 && m <= marked.length) at.set(marked[m - 1], i);
  });
  return { at, placer };
}

test('a delay shift waits for a quiet frame, then moves the rest of the track', () => {
  // Loud from frame 100 to 139; the shift (−20 ms) is asked at frame 110 and lands at frame 140.
  const { at, placer } = run(300, (k) => k >= 100 && k < 140, 110, -ms(20), [50, 120, 143, 299]);
  expect(at.get(50)).toBe(50 * 480);
  expect(at.get(120)).toBe(120 * 480); // still in place while loud
  expect(at.get(143)).toBe(143 * 480 - ms(20));
  expect(at.get(299)).toBe(299 * 480 - ms(20));
  expect(placer.recentShifts).toEqual([-ms(20)]);
  expect(placer.shiftCount).toBe(1);
});

test('a shift asked during continuous sound is applied after 2 s anyway; under 2 ms is ignored', () => {
  const { at, placer } = run(400, () => true, 50, ms(15), [100, 240, 260]);
  expect(at.get(100)).toBe(100 * 480);
  expect(at.get(240)).toBe(240 * 480); // 2 s = 200 frames after it was asked (frame 50)
  expect(at.get(260)).toBe(260 * 480 + ms(15));
  expect(placer.recentShifts).toEqual([ms(15)]);
  const small = run(200, () => false, 50, ms(1), [150]);
  expect(small.placer.shiftCount).toBe(0);
  expect(small.at.get(150)).toBe(150 * 480);
});

test('a stats request the FFI refuses (track gone) rejects once and leaves nothing to reject later', async () => {
  const g = globalThis as unknown as { _ffiClientInstance?: unknown };
  const before = g._ffiClientInstance;
  g._ffiClientInstance = {
    getNextRequestAsyncId: () => BigInt(1),
    waitFor: (_p: unknown, o: { signal: AbortSignal }) => new Promise((_r, reject) => o.signal.addEventListener('abort', () => reject(o.signal.reason))),
    request: () => {
      throw new Error('handle dropped');
    },
  };
  const unhandled: unknown[] = [];
  const onUnhandled = (r: unknown) => unhandled.push(r);
  process.on('unhandledRejection', onUnhandled);
  try {
    await expect(receiveStats({ ffi_handle: { handle: BigInt(5) } } as unknown as RemoteTrack)).rejects.toThrow('handle dropped');
    await new Promise((r) => setTimeout(r, 2300)); // past the 2 s wait for the FFI's answer
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', onUnhandled);
    g._ffiClientInstance = before;
  }
});
