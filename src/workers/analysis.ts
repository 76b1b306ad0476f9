import { decodePcm } from '../shared/ffmpeg';

const RATE = 16_000;

export interface SpeechRegion {
  startMs: number;
  endMs: number;
}

/**
 * Where a speaker talks on their own track: 20 ms frames above −42 dBFS RMS, bridged over pauses
 * shorter than 400 ms, regions shorter than 150 ms dropped. Per-speaker tracks hold one voice
 * each, so plain energy is enough and needs no model.
 */
export async function speechRegions(file: string, o: { thresholdDb?: number; bridgeMs?: number; minMs?: number } = {}): Promise<SpeechRegion[]> {
  const frame = RATE / 50;
  const threshold = 32768 * 10 ** ((o.thresholdDb ?? -42) / 20);
  const bridge = o.bridgeMs ?? 400;
  const min = o.minMs ?? 150;
  const active: boolean[] = [];
  let acc = 0;
  let n = 0;
  await decodePcm(file, RATE, (pcm) => {
    for (let i = 0; i < pcm.length; i++) {
      acc += pcm[i] * pcm[i];
      if (++n === frame) {
        active.push(Math.sqrt(acc / frame) >= threshold);
        acc = 0;
        n = 0;
      }
    }
  });
  const regions: SpeechRegion[] = [];
  for (let i = 0; i < active.length; i++) {
    if (!active[i]) continue;
    const startMs = i * 20;
    while (i < active.length && active[i]) i++;
    const endMs = i * 20;
    const last = regions[regions.length - 1];
    if (last && startMs - last.endMs < bridge) last.endMs = endMs;
    else regions.push({ startMs, endMs });
  }
  return regions.filter((r) => r.endMs - r.startMs >= min);
}

/** Peak level per `binMs` of a file (0..1, two decimals): enough to draw a waveform. */
export async function waveformPeaks(file: string, binMs = 50): Promise<number[]> {
  const bin = (RATE * binMs) / 1000;
  const peaks: number[] = [];
  let peak = 0;
  let n = 0;
  await decodePcm(file, RATE, (pcm) => {
    for (let i = 0; i < pcm.length; i++) {
      const a = Math.abs(pcm[i]);
      if (a > peak) peak = a;
      if (++n === bin) {
        peaks.push(Math.round((peak / 32768) * 100) / 100);
        peak = 0;
        n = 0;
      }
    }
  });
  if (n > 0) peaks.push(Math.round((peak / 32768) * 100) / 100);
  return peaks;
}
