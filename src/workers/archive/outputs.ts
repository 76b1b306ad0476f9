import type { SpeakerEntry } from '../../contracts/manifest';
import type { SpeechRegion } from '../analysis';

// Same bytes for the same input: no random Ogg serials, no encoder version strings. Opus runs at
// complexity 5: for speech at these bitrates it sounds the same and encodes 4× faster than 10.
const EXACT = ['-fflags', '+bitexact', '-flags:a', '+bitexact', '-map_metadata', '-1'];

/** The mix's archive formats: encoder arguments and content type. */
export const MIX_ARCHIVE = {
  opus: { codec: ['-c:a', 'libopus', '-b:a', '48k', '-compression_level', '5', ...EXACT], type: 'audio/ogg' },
  m4a: { codec: ['-c:a', 'aac', '-b:a', '96k', '-movflags', '+faststart', ...EXACT], type: 'audio/mp4' },
  mp3: { codec: ['-c:a', 'libmp3lame', '-b:a', '96k', '-id3v2_version', '0', ...EXACT], type: 'audio/mpeg' },
} as const;
export type MixFormat = keyof typeof MIX_ARCHIVE;
export const MIX_FORMATS = Object.keys(MIX_ARCHIVE) as MixFormat[];

/** Each speaker's file: the whole recording's length, so it lines up with the mix in any editor. */
export const SPEAKER_CODEC = ['-c:a', 'libopus', '-b:a', '32k', '-compression_level', '5', ...EXACT];

export const WAVEFORM_BIN_MS = 50;

/** Who spoke when, from each speaker's own track: final/speakers.json. */
export interface SpeakerTimeline {
  speakers: Array<{ identity: string; name: string; key: string; talkMs: number; colour: string }>;
  turns: Array<{ speaker: string; startMs: number; endMs: number }>;
}

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
