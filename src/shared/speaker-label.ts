/**
 * Participant names come from LiveKit clients and may hold anything: line breaks, a timing line
 * ("00:00:00.000 --> 99:00:00.000"), markup, bidi overrides, a megabyte of text. Recognised words
 * come from an engine that may be a third-party service. Before either reaches a transcript (JSON,
 * WebVTT, SRT, text) or a page, it becomes one plain line that no format can read as structure.
 *
 * The players (src/player/replay/replay.js, src/player/live/live.js) cannot import this module and
 * carry a copy of speakerLabel; test/unit/speaker-label.test.ts checks that the copies agree.
 */

/** The longest speaker label, in code points. */
export const SPEAKER_LABEL_MAX = 64;

/** Control characters (C0, DEL, C1 with NEL), line and paragraph separators, bidi embeddings,
 * overrides and isolates: each becomes a space. */
const UNSAFE = /[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]/gu;
/** Half of a surrogate pair on its own (with /u, a whole pair is one code point and not matched). */
const LONE_SURROGATE = /\p{Cs}/gu;
/** The cue timing arrow of WebVTT and SRT: a line holding it is read as a timing line. */
const ARROW = /-->/g;

/**
 * Any text as one line that holds no line break, control character or "-->", its whitespace
 * collapsed to single spaces and trimmed. Idempotent. Markup (&, <, >) is left for the format that
 * needs it escaped (WebVTT) to escape.
 */
export function singleLine(text: unknown): string {
  return String(text ?? '')
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(UNSAFE, ' ')
    .replace(ARROW, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * A participant's name as a speaker label: one line (see singleLine), at most SPEAKER_LABEL_MAX
 * code points; the fallback (the participant's identity) when nothing is left, else "Speaker".
 * Idempotent: a label passes through unchanged.
 */
export function speakerLabel(name: unknown, fallback?: unknown): string {
  const cut = (s: unknown) => Array.from(singleLine(s)).slice(0, SPEAKER_LABEL_MAX).join('').trim();
  return cut(name) || cut(fallback) || 'Speaker';
}
