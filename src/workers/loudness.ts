import { runFfmpeg } from '../shared/ffmpeg';
import { CPU_PARALLELISM, mapPool } from '../shared/pool';

export const TARGET_LUFS = -16;
/** Aim 1.5 dB under the −1 dBTP ceiling: lossy encoders overshoot (Opus by up to ~0.9 dB measured). */
export const TARGET_TP = -2.5;

export interface ArchiveOutput {
  file: string;
  codec: string[];
}

/**
 * EBU R128 normalisation in two passes (FFmpeg loudnorm): measure the whole mix, then apply one
 * linear gain computed from the measurement while encoding each archive format.
 */
export async function normaliseTo(input: string, outputs: ArchiveOutput[]): Promise<{ inputI: number; inputTP: number }> {
  const pass1 = await runFfmpeg([
    '-v', 'info', '-i', input,
    '-af', `loudnorm=I=${TARGET_LUFS}:TP=${TARGET_TP}:LRA=11:print_format=json`, '-f', 'null', '-',
  ]);
  const json = /\{[^{}]*"input_i"[^{}]*\}/s.exec(pass1.stderr);
  if (!json) throw new Error('loudnorm did not report a measurement');
  const m = JSON.parse(json[0]) as Record<string, string>;
  const inputI = Number(m.input_i);
  // Silence (or near silence) cannot be normalised: leave it as it is.
  // loudnorm runs at 192 kHz internally; back to 48 kHz mono with an explicit layout, which the
  // Opus and AAC encoders need when the filter runs in a plain -af chain.
  const back = 'aresample=48000,aformat=sample_rates=48000:channel_layouts=mono';
  // Pass 2. Where loudnorm's linear mode applies (the gain keeps the true peak under the ceiling),
  // it is one constant gain: apply it directly instead of re-running loudnorm, which works at
  // 192 kHz. Otherwise loudnorm with the measurement (it then limits dynamically).
  const gain = TARGET_LUFS - inputI;
  const inputTP = Number(m.input_tp);
  let filter: string;
  if (!Number.isFinite(inputI) || inputI < -70) filter = back;
  else if (inputTP + gain <= TARGET_TP) filter = `volume=${gain.toFixed(2)}dB,${back}`;
  else filter = `loudnorm=I=${TARGET_LUFS}:TP=${TARGET_TP}:LRA=11:measured_I=${m.input_i}:measured_TP=${m.input_tp}:measured_LRA=${m.input_lra}:measured_thresh=${m.input_thresh}:offset=${m.target_offset}:linear=true,${back}`;
  // One FFmpeg per format: the encoders then use every core instead of taking turns in one process.
  await mapPool(outputs, CPU_PARALLELISM, (o) => runFfmpeg(['-v', 'error', '-i', input, '-af', filter, ...o.codec, '-y', o.file]));
  return { inputI, inputTP };
}
