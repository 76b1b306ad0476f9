/**
 * How speech goes to an engine, shared by live transcription and the transcribe stage (so both cut
 * the same windows, whenever the audio happened to arrive).
 */

/** Speech regions are sent to the engine in windows of at most this length. */
export const WINDOW_MS = 30_000;
/** Audio kept around each window so the engine hears word edges. */
export const PAD_MS = 250;
/** Regions closer than this go to the engine together (a sentence's pauses stay inside). */
export const MERGE_GAP_MS = 1500;

export interface TimeRange {
  startMs: number;
  endMs: number;
}

/** Joins a speaker's speech regions into windows of ≤ 30 s. */
export function windows(regions: TimeRange[]): TimeRange[] {
  const out: TimeRange[] = [];
  for (const r of regions) {
    const last = out[out.length - 1];
    if (last && r.endMs - last.startMs <= WINDOW_MS && r.startMs - last.endMs < MERGE_GAP_MS) last.endMs = r.endMs;
    else {
      for (let s = r.startMs; s < r.endMs; s += WINDOW_MS) out.push({ startMs: s, endMs: Math.min(r.endMs, s + WINDOW_MS) });
    }
  }
  return out;
}

/** An engine's timeout for a window: a floor, plus five times the audio's length, within the configured bound. */
export const engineTimeoutMs = (configuredMs: number, audioMs: number): number => Math.min(configuredMs, 30_000 + audioMs * 5);
