import { singleLine, speakerLabel } from '../../shared/speaker-label';
import type { Word } from './engine';

/** A transcript segment in the Podcasting 2.0 JSON transcript format (times in seconds). */
export interface TranscriptSegment {
  /** The speaker label (speakerLabel): one plain line, never markup or escapes. */
  speaker: string;
  startTime: number;
  endTime: number;
  body: string;
}

export interface Transcript {
  version: '1.0.0';
  segments: TranscriptSegment[];
}

const PAUSE_MS = 700;
const MAX_WORDS = 16;

/**
 * Groups one speaker's timed words into segments: a new one after a pause or a long run. The
 * participant's name becomes a safe speaker label (the identity stands in for an empty one), and
 * the words one line of text: what a client or an engine sent can break no format.
 */
export function segmentWords(speaker: string, words: Word[], identity?: string): TranscriptSegment[] {
  const label = speakerLabel(speaker, identity);
  const out: TranscriptSegment[] = [];
  let cur: Word[] = [];
  const flush = () => {
    if (cur.length === 0) return;
    out.push({
      speaker: label,
      startTime: cur[0].startMs / 1000,
      endTime: cur[cur.length - 1].endMs / 1000,
      body: singleLine(cur.map((w) => w.word).join(' ')),
    });
    cur = [];
  };
  for (const w of words) {
    const prev = cur[cur.length - 1];
    if (prev && (w.startMs - prev.endMs > PAUSE_MS || cur.length >= MAX_WORDS)) flush();
    cur.push(w);
  }
  flush();
  return out;
}

/** hh:mm:ss.mmm (or ,mmm): a time that is not a number or is negative is 0. */
const clock = (s: number, sep: '.' | ',') => {
  const ms = Number.isFinite(s) && s > 0 ? Math.round(s * 1000) : 0;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const sec = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(sec)}${sep}${pad(ms % 1000, 3)}`;
};

/**
 * A segment's speaker label and text as single lines, whatever built the transcript: no line
 * break (which would end a cue and let the rest be read as a cue of its own, or add a line to the
 * text transcript) and no "-->" (which makes a line a timing line). Idempotent on segmentWords'.
 */
const lineOf = (s: TranscriptSegment) => ({ who: speakerLabel(s.speaker), text: singleLine(s.body) });

/** WebVTT text escapes: in a voice tag's annotation and in cue text, & < > are markup. */
const vttEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function toVtt(t: Transcript): string {
  const cues = t.segments.map((s) => {
    const { who, text } = lineOf(s);
    return `${clock(s.startTime, '.')} --> ${clock(s.endTime, '.')}\n<v ${vttEscape(who)}>${vttEscape(text)}`;
  });
  return `WEBVTT\n\n${cues.join('\n\n')}\n`;
}

/** SubRip has no escapes: each cue is its number, its timing line and one line "label: text". */
export function toSrt(t: Transcript): string {
  return t.segments
    .map((s, i) => {
      const { who, text } = lineOf(s);
      return `${i + 1}\n${clock(s.startTime, ',')} --> ${clock(s.endTime, ',')}\n${who}: ${text}\n`;
    })
    .join('\n');
}

/** One line per segment: "[hh:mm:ss] label: text". */
export function toText(t: Transcript): string {
  return (
    t.segments
      .map((s) => {
        const { who, text } = lineOf(s);
        return `[${clock(s.startTime, '.').slice(0, 8)}] ${who}: ${text}`;
      })
      .join('\n') + '\n'
  );
}
