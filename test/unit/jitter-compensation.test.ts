import { JitterCompensation, NOMINAL_DELAY } from '../../src/ingest/pipeline/jitter-compensation';
import type { RemoteTrack } from '@livekit/rtc-node';
import { receiveStats, ReceiveStats } from '../../src/ingest/livekit/receive-stats';
import { FramePlacer, RecordingClock, SAMPLE_RATE, SpeakerLane } from '../../src/ingest/pipeline/timeline';

const ms = (n: number) => (n * SAMPLE_RATE) / 1000;

const ZERO: ReceiveStats = { jitterBufferDelay: 0, jitterBufferEmittedCount: 0, jitterBufferTargetDelay: 0, jitterBufferMinimumDelay: 0, lastPacketReceivedTimestamp: 0, estimatedPlayoutTimestamp: 0, concealedSamples: 0, silentConcealedSamples: 0, insertedSamplesForDeceleration: 0, removedSamplesForAcceleration: 0 };

/**
 * Cumulative stats of a track: each period's audio waited `delayMs` in the buffer, and NetEq
 * stretched (inserted), concealed or skipped (removed) that many ms of audio in it.
 */
function readings(periods: Array<{ seconds: number; delayMs: number; inserted?: number; concealed?: number; removed?: number }>, from = ZERO): ReceiveStats[] {
  let r = from;
  return periods.map((p) => {
    const emitted = p.seconds * SAMPLE_RATE;
    r = {
      ...r,
      jitterBufferEmittedCount: r.jitterBufferEmittedCount + emitted,
      jitterBufferDelay: r.jitterBufferDelay + emitted * (p.delayMs / 1000),
      insertedSamplesForDeceleration: r.insertedSamplesForDeceleration + ms(p.inserted ?? 0),
      concealedSamples: r.concealedSamples + ms(p.concealed ?? 0),
      removedSamplesForAcceleration: r.removedSamplesForAcceleration + ms(p.removed ?? 0),
    };
    return r;
  });
}

const STARTING = ms(20);

test('a track starts from one delay and follows what NetEq stretched, concealed and skipped since', () => {
  const comp = new JitterCompensation(ms(125));
  const r = readings([
    { seconds: 0.25, delayMs: 30, inserted: 5 }, // first reading: 20 ms start + 5 stretched
    { seconds: 0.25, delayMs: 30 },
    { seconds: 0.25, delayMs: 55, inserted: 10, concealed: 20 }, // the buffer grew by 30 ms
    { seconds: 0.25, delayMs: 45, removed: 10 }, // and shrank by 10
  ]);
  expect(comp.update(r[0])).toBe(NOMINAL_DELAY - STARTING - ms(5));
  expect(comp.update(r[1])).toBe(NOMINAL_DELAY - STARTING - ms(5));
  expect(comp.update(r[2])).toBe(NOMINAL_DELAY - STARTING - ms(35)); // earlier: the audio waited longer
  expect(comp.update(r[3])).toBe(NOMINAL_DELAY - STARTING - ms(25));
});

test("after a gap (muted: no audio decoded, concealment instead) the buffer's own mean is taken once audio flows; never beyond what the mixer allows", () => {
  const comp = new JitterCompensation(ms(50));
  const [a] = readings([{ seconds: 1, delayMs: 40 }]);
  expect(comp.update(a)).toBe(NOMINAL_DELAY - STARTING);
  const [muted] = readings([{ seconds: 0.05, delayMs: 40, concealed: 1000 }], a);
  expect(comp.update(muted)).toBeUndefined(); // too little decoded: not a window, but a gap
  // The window that ends the gap is mostly concealment: still a gap, the delay as it was.
  const [resuming] = readings([{ seconds: 0.5, delayMs: 70 }], muted);
  expect(comp.update(resuming)).toBe(NOMINAL_DELAY - STARTING);
  const [back] = readings([{ seconds: 0.5, delayMs: 70 }], resuming);
  expect(comp.update(back)).toBe(NOMINAL_DELAY - ms(70)); // the buffer's mean, not 1 s of concealment
  const [deeper] = readings([{ seconds: 0.5, delayMs: 200, inserted: 130 }], back);
  expect(comp.update(deeper)).toBe(-ms(50)); // 160 ms wanted, 50 allowed
});

test('a stall (most of a window concealed, then the late packets played) is measured afresh from the buffer', () => {
  const comp = new JitterCompensation(ms(250));
  const [a] = readings([{ seconds: 1, delayMs: 100 }]);
  expect(comp.update(a)).toBe(NOMINAL_DELAY - STARTING);
  const [stall] = readings([{ seconds: 0.15, delayMs: 100, concealed: 150 }], a);
  expect(comp.update(stall)).toBe(NOMINAL_DELAY - STARTING); // a gap: nothing taken from it
  const [after] = readings([{ seconds: 0.25, delayMs: 257 }], stall);
  expect(comp.update(after)).toBe(NOMINAL_DELAY - ms(257));
});

test("where the count and the buffer's mean part by over 25 ms for two seconds of audio (lost packets were concealed), the mean wins", () => {
  const comp = new JitterCompensation(ms(125));
  let [r] = readings([{ seconds: 0.5, delayMs: 20 }]);
  expect(comp.update(r)).toBe(NOMINAL_DELAY - STARTING);
  // 20 ms concealed for lost packets per half second: the count says +20 each time, the buffer stays at 20.
  const shifts: number[] = [];
  for (let i = 0; i < 8; i++) {
    [r] = readings([{ seconds: 0.5, delayMs: 20, concealed: 20 }], r);
    shifts.push(comp.update(r)!);
  }
  expect(shifts[0]).toBe(NOMINAL_DELAY - STARTING - ms(20));
  expect(shifts).toContain(NOMINAL_DELAY - ms(20)); // reset to the buffer's mean
  expect(Math.min(...shifts)).toBeGreaterThanOrEqual(NOMINAL_DELAY - STARTING - ms(100));
});

test('silent concealment (DTX between comfort-noise packets) is not delay', () => {
  const comp = new JitterCompensation(ms(250));
  let [r] = readings([{ seconds: 0.5, delayMs: 40 }]);
  expect(comp.update(r)).toBe(NOMINAL_DELAY - STARTING);
  [r] = readings([{ seconds: 0.5, delayMs: 40, concealed: 150 }], r);
  r = { ...r, silentConcealedSamples: r.silentConcealedSamples + ms(150) };
  expect(comp.update(r)).toBe(NOMINAL_DELAY - STARTING);
});

test('counters that go back (a new receiver) start over from a first reading', () => {
  const comp = new JitterCompensation(ms(125));
  const [a, b] = readings([{ seconds: 2, delayMs: 30, inserted: 30 }, { seconds: 1, delayMs: 30 }]);
  comp.update(a);
  comp.update(b);
  const [fresh] = readings([{ seconds: 0.5, delayMs: 60, inserted: 10 }]);
  expect(comp.update(fresh)).toBe(NOMINAL_DELAY - STARTING - ms(10));
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
