import type { SpeakerEntry } from '../../contracts/manifest';
import { mixFormats, type MixFormat } from '../../contracts/recording-files';
import type { SpeakerTimeline } from '../../contracts/replay-data';
import type { SpeechRegion } from '../analysis';

// Same bytes for the same input: no random Ogg serials, no encoder version strings. Opus runs at
// complexity 5: for speech at these bitrates it sounds the same and encodes 4× faster than 10.
const EXACT = ['-fflags', '+bitexact', '-flags:a', '+bitexact', '-map_metadata', '-1'];

/**
 * The encoder of each of the mix's archive formats. The formats themselves (key, content type,
 * who may read them) are rows of the table of recording files: a row without an encoder here
 * does not compile.
 */
export const MIX_ARCHIVE: Record<MixFormat, { codec: readonly string[] }> = {
  opus: { codec: ['-c:a', 'libopus', '-b:a', '48k', '-compression_level', '5', ...EXACT] },
  m4a: { codec: ['-c:a', 'aac', '-b:a', '96k', '-movflags', '+faststart', ...EXACT] },
  mp3: { codec: ['-c:a', 'libmp3lame', '-b:a', '96k', '-id3v2_version', '0', ...EXACT] },
};
export type { MixFormat };
export const MIX_FORMATS: readonly MixFormat[] = mixFormats;

/** Each speaker's file: the whole recording's length, so it lines up with the mix in any editor. */
export const SPEAKER_CODEC = ['-c:a', 'libopus', '-b:a', '32k', '-compression_level', '5', ...EXACT];

export const WAVEFORM_BIN_MS = 50;

/** Who spoke when, from each speaker's own track: final/speakers.json (contracts/replay-data.ts). */
export type { SpeakerTimeline } from '../../contracts/replay-data';

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];

/** The speaker timeline from each speaker's speech regions (same order as the manifest's speakers). */
export function buildTimeline(speakers: SpeakerEntry[], regions: SpeechRegion[][]): SpeakerTimeline {
  const timeline: SpeakerTimeline = { speakers: [], turns: [] };
  speakers.forEach((sp, i) => {
    const mine = regions[i] ?? [];
    timeline.speakers.push({
      identity: sp.identity,
      name: sp.name,
      key: sp.key,
      talkMs: mine.reduce((n, r) => n + r.endMs - r.startMs, 0),
      colour: COLOURS[i % COLOURS.length],
    });
    for (const r of mine) timeline.turns.push({ speaker: sp.identity, ...r });
  });
  timeline.turns.sort((a, b) => a.startMs - b.startMs || a.speaker.localeCompare(b.speaker));
  return timeline;
}
