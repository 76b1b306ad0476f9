import { Mixer, LIMIT } from '../../src/ingest/pipeline/mixer';
import { FramePlacer, RecordingClock, SAMPLE_RATE, SpeakerLane } from '../../src/ingest/pipeline/timeline';

const FRAME = 480;
const ms = (n: number) => (n * SAMPLE_RATE) / 1000;

/** Every `every`-th frame starts with a marker sample (its number), the rest is silence. */
function marked(i: number, every: number): Int16Array {
  const f = new Int16Array(FRAME);
  if (i % every === 0) f[0] = i / every + 1;
  return f;
}

/** Feeds frames at given arrival positions and returns where each marker landed on the lane. */
function place(arrivals: number[], every = 1, before: Record<number, (p: FramePlacer) => void> = {}): { positions: number[]; placer: FramePlacer } {
  const lane = new SpeakerLane('a', 'A', 'a', 0);
  const placer = new FramePlacer(lane, new RecordingClock());
  const positions: number[] = [];
  const chunk = new Float32Array(SAMPLE_RATE);
  // Read the lane as the mixer would, a second behind the newest arrival, so an hour fits in memory.
  const drain = (upTo: number) => {
    while (lane.readPosition + chunk.length <= upTo) {
      const base = lane.readPosition;
      lane.take(chunk.length, chunk);
      for (let p = 0; p < chunk.length; p++) if (chunk[p] !== 0) positions[(Math.round(chunk[p] * 32768) - 1) * every] = base + p;
    }
  };
  let last = 0;
  arrivals.forEach((t, i) => {
    before[i]?.(placer);
    placer.push(marked(i, every), t);
    last = Math.max(last, t);
    if (i % 100 === 0) drain(last - SAMPLE_RATE);
  });
  drain(last + 2 * SAMPLE_RATE);
  return { positions, placer };
}

/** Arrival times of a steady stream that started at `start` (samples), frame k arriving at its end. */
const steady = (start: number, n: number) => Array.from({ length: n }, (_, k) => start + (k + 1) * FRAME);

test('a steady stream is laid end to end from its first sample', () => {
  const { positions, placer } = place(steady(ms(1000), 500));
  positions.forEach((p, k) => expect(p).toBe(ms(1000) + k * FRAME));
  expect(placer.corrections).toEqual([]);
});

test('frames queued during subscription (a burst) do not push the track late', () => {
  // The first 8 frames arrive together 80 ms late, then the stream runs on time.
  const arr = steady(ms(500), 300).map((t, k) => (k < 8 ? ms(500) + 8 * FRAME + ms(5) : t));
  const { positions } = place(arr);
  expect(positions[0]).toBe(ms(500));
  expect(positions[299]).toBe(ms(500) + 299 * FRAME);
});

test('an event-loop stall delays arrivals but not placement', () => {
  const arr = steady(0, 600).map((t, k) => (k >= 300 && k < 330 ? steady(0, 600)[330] : t));
  const { positions, placer } = place(arr);
  positions.forEach((p, k) => expect(p).toBe(k * FRAME));
  expect(placer.corrections).toEqual([]);
});

test('a stream that loses 100 ms is moved forward: silence in place, later audio on time', () => {
  const arr = steady(0, 800).map((t, k) => (k >= 300 ? t + ms(100) : t));
  const { positions, placer } = place(arr);
  expect(placer.corrections).toHaveLength(1);
  // Once the 2 s window has seen it, frames sit where the wall clock says (±1 frame).
  expect(Math.abs(positions[799] - (799 * FRAME + ms(100)))).toBeLessThanOrEqual(FRAME);
});

test('after a reconnect, a stream that lost 240 ms is back at its place within a third of a second; a burst is still not a loss', () => {
  const lost = steady(0, 800).map((t, k) => (k >= 300 ? t + ms(240) : t));
  const quick = place(lost, 1, { 300: (p) => p.expectDiscontinuity() });
  expect(quick.placer.corrections).toHaveLength(1);
  // 300 ms of audio after the return (30 frames) and every frame is where the wall clock says.
  for (let k = 332; k < 800; k++) expect(quick.positions[k]).toBe(k * FRAME + ms(240));
  // Without being told of the reconnect the 2 s window takes up to 2 s of audio to see it.
  const slow = place(lost);
  expect(slow.positions[332]).toBe(332 * FRAME);
  // A stall right after a reconnect (frames held 200 ms, then a burst) moves nothing.
  const stalled = steady(0, 800).map((t, k) => (k >= 300 && k < 320 ? steady(0, 800)[320] : t));
  const burst = place(stalled, 1, { 300: (p) => p.expectDiscontinuity() });
  burst.positions.forEach((p, k) => expect(p).toBe(k * FRAME));
  expect(burst.placer.corrections).toEqual([]);
});

test('a sender clock 0.1% slow (20× a bad crystal) stays within 15 ms of the wall clock for an hour', () => {
  const n = 360_000; // an hour of 10 ms frames
  const arr = Array.from({ length: n }, (_, k) => Math.round((k + 1) * FRAME * 1.001));
  const { positions } = place(arr, 1000);
  let worst = 0;
  for (let k = 0; k < n; k += 1000) worst = Math.max(worst, Math.abs(positions[k] - (arr[k] - FRAME)));
  // Bound: 10 ms tolerance + 2 ms gathered over one 2 s window + rounding.
  expect(worst).toBeLessThanOrEqual(ms(15));
});

test('the limiter stops two loud speakers from clipping and leaves one alone', () => {
  const clock = { now: () => 10 * SAMPLE_RATE } as unknown as RecordingClock;
  const mixes: Int16Array[] = [];
  const mixer = new Mixer(clock, 4800, 0, { mix: (p) => mixes.push(p), speaker: () => undefined });
  const tone = (amp: number) => Int16Array.from({ length: SAMPLE_RATE }, (_, i) => Math.round(amp * 32767 * Math.sin((2 * Math.PI * 440 * i) / SAMPLE_RATE)));
  mixer.lane('a', 'A', 'a').write(0, tone(0.5));
  mixer.lane('b', 'B', 'b').write(SAMPLE_RATE / 2, tone(0.8));
  mixer.lane('c', 'C', 'c').write(SAMPLE_RATE / 2, tone(0.8));
  mixer.flush(2 * SAMPLE_RATE);
  const mix = Int16Array.from(mixes.flatMap((m) => Array.from(m)));
  const peak = (a: number, b: number) => Math.max(...Array.from(mix.subarray(a, b), Math.abs)) / 32767;
  expect(peak(0, SAMPLE_RATE / 2)).toBeCloseTo(0.5, 2); // a lone speaker is untouched
  expect(peak(SAMPLE_RATE / 2, 2 * SAMPLE_RATE)).toBeLessThanOrEqual(LIMIT + 1e-4); // 2.1 × full scale in
  expect(mix.length).toBe(2 * SAMPLE_RATE);
});

test('100 ms frames (INGEST_FRAME_MS=100): warm-up by samples, jitter does not move the audio', () => {
  const big = 10 * FRAME;
  const lane = new SpeakerLane('a', 'A', 'a', 0);
  const placer = new FramePlacer(lane, new RecordingClock());
  const start = ms(700);
  // Frame k ends at start + (k+1)·100 ms and arrives 0–8 ms after that; the first two arrive together late.
  for (let k = 0; k < 60; k++) {
    const f = new Int16Array(big);
    f[0] = k + 1;
    const arrival = k < 2 ? start + 2 * big + ms(30) : start + (k + 1) * big + ms((k * 7) % 9);
    placer.push(f, arrival);
  }
  const out = new Float32Array(start + 61 * big);
  lane.take(out.length, out);
  const at = new Map<number, number>();
  out.forEach((v, i) => v !== 0 && at.set(Math.round(v * 32768), i));
  // Within the placer's 10 ms tolerance of where each frame belongs (the anchor is the earliest arrival seen).
  for (let k = 0; k < 60; k++) expect(Math.abs(at.get(k + 1)! - (start + k * big))).toBeLessThanOrEqual(ms(10));
  expect(at.get(1)).toBe(at.get(60)! - 59 * big); // end to end: no frame moved
});
