import { SAMPLE_RATE } from '../contracts/audio';
import { runFfmpeg } from '../shared/ffmpeg';
import { CPU_PARALLELISM, mapPool } from '../shared/pool';

export const TARGET_LUFS = -16;
/** Aim 1.5 dB under the −1 dBTP ceiling: lossy encoders overshoot (Opus by up to ~0.9 dB measured). */
export const TARGET_TP = -2.5;

export interface ArchiveOutput {
  file: string;
  codec: string[];
}

/** What loudnorm's first pass reports (its JSON fields, as strings). */
export type LoudnessMeasurement = Record<'input_i' | 'input_tp' | 'input_lra' | 'input_thresh' | 'target_offset', string>;

/** loudnorm runs at 192 kHz internally: back to 48 kHz mono with an explicit layout (Opus and AAC need it). */
const BACK = `aresample=${SAMPLE_RATE},aformat=sample_rates=${SAMPLE_RATE}:channel_layouts=mono`;

/** Pass 1: FFmpeg loudnorm's EBU R128 measurement of a file. */
export async function measureLoudness(input: string): Promise<LoudnessMeasurement> {
  const pass1 = await runFfmpeg([
    '-v', 'info', '-i', input,
    '-af', `loudnorm=I=${TARGET_LUFS}:TP=${TARGET_TP}:LRA=11:print_format=json`, '-f', 'null', '-',
  ]);
  const json = /\{[^{}]*"input_i"[^{}]*\}/s.exec(pass1.stderr);
  if (!json) throw new Error('loudnorm did not report a measurement');
  return JSON.parse(json[0]) as LoudnessMeasurement;
}

/**
 * Pass 2's filter from a measurement. Where loudnorm's linear mode applies (the gain keeps the true
 * peak under the ceiling) it is one constant gain: apply it directly instead of re-running loudnorm
 * at 192 kHz. Otherwise loudnorm with the measurement (it then limits dynamically). Silence (or near
 * silence) cannot be normalised and is left as it is.
 */
export function gainFilter(m: LoudnessMeasurement): { filter: string; gainDb: number } {
  const inputI = Number(m.input_i);
  const inputTP = Number(m.input_tp);
  if (!Number.isFinite(inputI) || inputI < -70) return { filter: BACK, gainDb: 0 };
  const gainDb = TARGET_LUFS - inputI;
  if (inputTP + gainDb <= TARGET_TP) return { filter: `volume=${gainDb.toFixed(2)}dB,${BACK}`, gainDb };
  return {
    filter: `loudnorm=I=${TARGET_LUFS}:TP=${TARGET_TP}:LRA=11:measured_I=${m.input_i}:measured_TP=${m.input_tp}:measured_LRA=${m.input_lra}:measured_thresh=${m.input_thresh}:offset=${m.target_offset}:linear=true,${BACK}`,
    gainDb,
  };
}

/**
 * A gain fixed from part of a room (the rest is still to come): constant, so the loudness range is
 * kept, with a limiter for peaks the gain would push over the ceiling (makeupDb makes up for what
 * the limiter takes off the loudness).
 */
export function provisionalGainFilter(m: LoudnessMeasurement, makeupDb = 0): { filter: string; gainDb: number } {
  const inputI = Number(m.input_i);
  const gainDb = (Number.isFinite(inputI) && inputI > -70 ? TARGET_LUFS - inputI : 0) + makeupDb;
  const limit = 10 ** ((TARGET_TP - 0.5) / 20);
  return { filter: `volume=${gainDb.toFixed(2)}dB,alimiter=limit=${limit.toFixed(4)}:attack=5:release=50:level=false:latency=true,${BACK}`, gainDb };
}

/** Integrated loudness and true peak from an `ebur128=peak=true` filter's summary. */
export function parseEbur128Summary(stderr: string): { I: number; TP: number } {
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  const I = Number(/I:\s+(-?[\d.]+|-inf) LUFS/.exec(summary)?.[1]);
  const TP = Number(/True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS/.exec(summary)?.[1]);
  return { I: Number.isFinite(I) ? I : -Infinity, TP: Number.isFinite(TP) ? TP : -Infinity };
}

/**
 * EBU R128 normalisation in two passes (FFmpeg loudnorm): measure the whole mix, then apply one
 * linear gain computed from the measurement while encoding each archive format.
 */
export async function normaliseTo(input: string, outputs: ArchiveOutput[], measured?: LoudnessMeasurement): Promise<{ inputI: number; inputTP: number; gainDb: number }> {
  const m = measured ?? (await measureLoudness(input));
  const { filter, gainDb } = gainFilter(m);
  // One FFmpeg per format: the encoders then use every core instead of taking turns in one process.
  await mapPool(outputs, CPU_PARALLELISM, (o) => runFfmpeg(['-v', 'error', '-i', input, '-af', filter, ...o.codec, '-y', o.file]));
  return { inputI: Number(m.input_i), inputTP: Number(m.input_tp), gainDb };
}
