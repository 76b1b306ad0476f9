import type { LiveSpeaking } from '../../shared/control';
import { SAMPLE_RATE } from './timeline';

/** −36 dBFS peak in a 100 ms block: talking, not breathing or room noise. */
const SPEAKING_PEAK = 0.016;
/** Blocks closer than this are one interval. */
const BRIDGE_MS = 300;
/** The live player looks back no further than its delay: keep this much. */
const KEEP_MS = 30_000;

/**
 * Who spoke when over the last half minute, on the recording's timeline. The live player shows
 * who is speaking at the moment it is playing, which is some seconds behind the room.
 */
export class SpeakingTracker {
  private readonly speakers = new Map<string, { name: string; intervals: Array<[number, number]> }>();

  note(identity: string, name: string, pos: number, samples: number, peak: number): void {
    let sp = this.speakers.get(identity);
    if (!sp) this.speakers.set(identity, (sp = { name, intervals: [] }));
    sp.name = name;
    if (peak < SPEAKING_PEAK) return;
    const from = Math.round((pos / SAMPLE_RATE) * 1000);
    const to = Math.round(((pos + samples) / SAMPLE_RATE) * 1000);
    const last = sp.intervals[sp.intervals.length - 1];
    if (last && from - last[1] <= BRIDGE_MS) last[1] = Math.max(last[1], to);
    else sp.intervals.push([from, to]);
  }

  snapshot(recordingId: string, atMs: number): LiveSpeaking {
    for (const sp of this.speakers.values()) sp.intervals = sp.intervals.filter(([, to]) => to > atMs - KEEP_MS);
    return {
      recordingId,
      atMs,
      speakers: [...this.speakers].map(([identity, sp]) => ({ identity, name: sp.name, intervals: sp.intervals.map(([a, b]) => [a, b] as [number, number]) })),
    };
  }
}
