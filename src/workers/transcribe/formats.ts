import type { Word } from './engine';

/** A transcript segment in the Podcasting 2.0 JSON transcript format (times in seconds). */
export interface TranscriptSegment {
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

/** Groups one speaker's timed words into segments: a new one after a pause or a long run. */
export function segmentWords(speaker: string, words: Word[]): TranscriptSegment[] {
  const out: TranscriptSegment[] = [];
  let cur: Word[] = [];
  const flush = () => {
    if (cur.length === 0) return;
    out.push({
      speaker,
      startTime: cur[0].startMs / 1000,
      endTime: cur[cur.length - 1].endMs / 1000,
      body: cur.map((w) => w.word).join(' '),
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

const clock = (s: number, sep: '.' | ',') => {
  const ms = Math.round(s * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const sec = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(sec)}${sep}${pad(ms % 1000, 3)}`;
};

const vttEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function toVtt(t: Transcript): string {
  const cues = t.segments.map((s) => `${clock(s.startTime, '.')} --> ${clock(s.endTime, '.')}\n<v ${vttEscape(s.speaker)}>${vttEscape(s.body)}`);
  return `WEBVTT\n\n${cues.join('\n\n')}\n`;
}

export function toSrt(t: Transcript): string {
  return t.segments.map((s, i) => `${i + 1}\n${clock(s.startTime, ',')} --> ${clock(s.endTime, ',')}\n${s.speaker}: ${s.body}\n`).join('\n');
}

export function toText(t: Transcript): string {
  return t.segments.map((s) => `[${clock(s.startTime, '.').slice(0, 8)}] ${s.speaker}: ${s.body}`).join('\n') + '\n';
}
