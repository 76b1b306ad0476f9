import { execFileSync, spawnSync } from 'node:child_process';

export const RATE = 48_000;

/** Decodes anything FFmpeg reads (a file, a playlist) to 48 kHz mono float samples. */
export function decode(input: string, extraInputArgs: string[] = []): Float32Array {
  const buf = execFileSync(
    'ffmpeg',
    ['-v', 'error', ...extraInputArgs, '-i', input, '-f', 'f32le', '-ac', '1', '-ar', String(RATE), 'pipe:1'],
    { maxBuffer: 1024 * 1024 * 1024 },
  );
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/** Amplitude of one frequency in x[start, start+n) (Goertzel). */
export function toneAmplitude(x: Float32Array, freq: number, start: number, n: number): number {
  const w = (2 * Math.PI * freq) / RATE;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  const end = Math.min(x.length, start + n);
  for (let i = Math.max(0, start); i < end; i++) {
    const s0 = x[i] + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return (2 * Math.sqrt(Math.max(0, power))) / n;
}

const WIN = 480; // 10 ms: 100 Hz resolution, enough to tell our tones apart
const HOP = 48; // 1 ms onset precision

/**
 * Where a tone of `freq` starts between fromMs and toMs: the first moment its amplitude reaches
 * half of its peak in that range. null when it never rises above `floor`.
 */
export function findOnset(x: Float32Array, freq: number, fromMs: number, toMs: number, floor = 0.01): number | null {
  const e = toneEnvelope(x, freq, fromMs, toMs);
  if (e.peak < floor) return null;
  return e.at(e.env.findIndex((a) => a >= e.peak / 2));
}

/** A tone's amplitude in 10 ms windows every 1 ms over a range, its peak, and the time of window i. */
function toneEnvelope(x: Float32Array, freq: number, fromMs: number, toMs: number) {
  const from = Math.max(0, Math.round((fromMs * RATE) / 1000));
  const to = Math.min(x.length - WIN, Math.round((toMs * RATE) / 1000));
  const env: number[] = [];
  for (let i = from; i <= to; i += HOP) env.push(toneAmplitude(x, freq, i, WIN));
  return { env, peak: Math.max(0, ...env), at: (i: number) => ((from + i * HOP + WIN / 2) / RATE) * 1000 };
}

/** Where a tone of `freq` ends between fromMs and toMs: the last moment its amplitude is at half its peak or more. */
export function findEnd(x: Float32Array, freq: number, fromMs: number, toMs: number, floor = 0.01): number | null {
  const e = toneEnvelope(x, freq, fromMs, toMs);
  if (e.peak < floor) return null;
  let i = e.env.length - 1;
  while (i > 0 && e.env[i] < e.peak / 2) i--;
  return e.at(i);
}

/** Largest amplitude of `freq` in a range (10 ms windows). */
export function maxToneAmplitude(x: Float32Array, freq: number, fromMs: number, toMs: number): number {
  const from = Math.max(0, Math.round((fromMs * RATE) / 1000));
  const to = Math.min(x.length - WIN, Math.round((toMs * RATE) / 1000));
  let peak = 0;
  for (let i = from; i <= to; i += WIN / 2) peak = Math.max(peak, toneAmplitude(x, freq, i, WIN));
  return peak;
}

export function peakAbs(x: Float32Array, fromMs = 0, toMs = Infinity): number {
  const from = Math.max(0, Math.round((fromMs * RATE) / 1000));
  const to = Math.min(x.length, Math.round((toMs * RATE) / 1000));
  let p = 0;
  for (let i = from; i < to; i++) p = Math.max(p, Math.abs(x[i]));
  return p;
}

/** Places decoded pieces at their timeline offsets (silence elsewhere), as an editor would. */
export function assemble(pieces: Array<{ startMs: number; samples: Float32Array }>): Float32Array {
  const len = Math.max(0, ...pieces.map((p) => Math.round((p.startMs * RATE) / 1000) + p.samples.length));
  const out = new Float32Array(len);
  for (const p of pieces) out.set(p.samples, Math.round((p.startMs * RATE) / 1000));
  return out;
}

/** Integrated loudness and true peak, as FFmpeg's EBU R128 meter reports them. */
export function loudness(file: string): { I: number; TP: number } {
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-i', file, '-af', 'ebur128=peak=true', '-f', 'null', '-'], { encoding: 'utf8' });
  const summary = r.stderr.slice(r.stderr.lastIndexOf('Summary:'));
  return { I: Number(/I:\s+(-?[\d.]+) LUFS/.exec(summary)![1]), TP: Number(/Peak:\s+(-?[\d.]+) dBFS/.exec(summary)![1]) };
}

/** Lag (ms) of b against a where their cross-correlation peaks, within ±maxMs (8 kHz). */
export function xcorrLagMs(a: Float32Array, b: Float32Array, maxMs: number): number {
  const max = (maxMs * 8000) / 1000;
  let best = -Infinity;
  let bestLag = 0;
  for (let lag = -max; lag <= max; lag++) {
    let s = 0;
    for (let i = Math.max(0, -lag); i < a.length && i + lag < b.length; i++) s += a[i] * b[i + lag];
    if (s > best) {
      best = s;
      bestLag = lag;
    }
  }
  return (bestLag * 1000) / 8000;
}

