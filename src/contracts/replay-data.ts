import { z } from 'zod';
import { FORMAT_NAMES, mixFormats, rel, requireFileKind, transcriptFormats } from './recording-files';

/**
 * replay/data.json: everything the replay page (src/player/replay) shows, written by publish.
 * Every URL in it is relative to the page (replay/index.html), so the api, S3 or a CDN can serve it.
 */

/** final/speakers.json: who spoke when, from each speaker's own track (written by finalize or the live archive). */
export const SpeakerTimeline = z.object({
  speakers: z.array(z.object({ identity: z.string(), name: z.string(), key: z.string(), talkMs: z.number().min(0), colour: z.string() })),
  turns: z.array(z.object({ speaker: z.string(), startMs: z.number().min(0), endMs: z.number().min(0) })),
});
export type SpeakerTimeline = z.infer<typeof SpeakerTimeline>;

/** final/waveform.json: peak level (0..1) per bin of the mix. */
export const Waveform = z.object({ binMs: z.number().positive(), peaks: z.array(z.number()) });
export type Waveform = z.infer<typeof Waveform>;

/** transcript/transcript.json: the Podcasting 2.0 JSON transcript (times in seconds). */
export const Transcript = z.object({
  version: z.literal('1.0.0'),
  segments: z.array(z.object({ speaker: z.string(), startTime: z.number(), endTime: z.number(), body: z.string() })),
});

export const ReplayDownload = z.object({
  label: z.string(),
  /** Relative to the page. */
  href: z.string(),
  /** Media type, without parameters (the page's links carry it as data-type). */
  type: z.string(),
  /** Offered only to a page opened with a host's credentials (raw per-speaker audio). */
  hostOnly: z.boolean(),
});
export type ReplayDownload = z.infer<typeof ReplayDownload>;

export const ReplayData = z.object({
  room: z.string(),
  recordingId: z.string(),
  startedAt: z.string().datetime(),
  durationMs: z.number().min(0),
  /** The VOD playlist. */
  hls: z.string(),
  /** The WebVTT transcript (captions), when there is a transcript. */
  vtt: z.string().nullable(),
  speakers: SpeakerTimeline.shape.speakers,
  turns: SpeakerTimeline.shape.turns,
  waveform: Waveform,
  transcript: Transcript.nullable(),
  /** Why there is no transcript (null when there is one). */
  transcriptError: z.string().nullable(),
  downloads: z.array(ReplayDownload),
});
export type ReplayData = z.infer<typeof ReplayData>;

/** A recording's object as the replay page reaches it: the page is replay/index.html. */
export const fromReplayPage = (relKey: string): string => `../${relKey}`;

/** A download link for one of the recording's objects: type and audience from the table of recording files. */
function download(relKey: string, label: string): ReplayDownload {
  const file = requireFileKind(relKey);
  return { label, href: fromReplayPage(relKey), type: file.contentType.split(';')[0].trim(), hostOnly: file.kind.audience === 'host' };
}

/**
 * The page's download links, from the table of recording files: the mix in every archive format,
 * each speaker's own file (for hosts only, as the table says) and, when there is a transcript,
 * every transcript format.
 */
export function replayDownloads(o: { speakers: ReadonlyArray<{ key: string; name: string }>; transcript: boolean }): ReplayDownload[] {
  return [
    ...mixFormats.map((e) => download(rel.mixArchive(e), `Mix (${FORMAT_NAMES[e]})`)),
    ...o.speakers.map((s) => download(rel.speakerFile(s.key), `${s.name} (${FORMAT_NAMES.opus})`)),
    ...(o.transcript ? transcriptFormats.map((e) => download(rel.transcript(e), `Transcript (${FORMAT_NAMES[e]})`)) : []),
  ];
}
