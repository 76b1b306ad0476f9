import { parseSphinxTimes } from '../../src/workers/transcribe/sphinx';
import { segmentWords, toSrt, toText, toVtt, Transcript, TranscriptSegment } from '../../src/workers/transcribe/formats';
import { windows } from '../../src/workers/transcribe/transcribe';

test('PocketSphinx word times are parsed, markers and alternate pronunciations cleaned', () => {
  const out = `he was not an illness those young man
<s> 0.000 0.060 0.999500
<sil> 0.070 0.200 0.694306
he 0.210 0.320 0.998701
was(2) 0.330 0.540 0.999800
[NOISE] 0.550 0.600 0.5
[SPEECH] 0.980 1.100 0.535598
++BREATH++ 1.100 1.200 0.5
man 2.330 2.790 0.905008
</s> 2.800 2.970 1.000000`;
  expect(parseSphinxTimes(out)).toEqual([
    { word: 'he', startMs: 210, endMs: 320 },
    { word: 'was', startMs: 330, endMs: 540 },
    { word: 'man', startMs: 2330, endMs: 2790 },
  ]);
});

test('words become segments at pauses; every format carries speaker and times', () => {
  const w = (word: string, s: number, e: number) => ({ word, startMs: s, endMs: e });
  const segs = segmentWords('Ann <host>', [w('hello', 1000, 1400), w('there', 1450, 1800), w('again', 3000, 3500)]);
  expect(segs).toEqual([
    { speaker: 'Ann <host>', startTime: 1, endTime: 1.8, body: 'hello there' },
    { speaker: 'Ann <host>', startTime: 3, endTime: 3.5, body: 'again' },
  ]);
  const t = { version: '1.0.0' as const, segments: segs };
  expect(toVtt(t)).toBe('WEBVTT\n\n00:00:01.000 --> 00:00:01.800\n<v Ann &lt;host&gt;>hello there\n\n00:00:03.000 --> 00:00:03.500\n<v Ann &lt;host&gt;>again\n');
  expect(toSrt(t)).toContain('1\n00:00:01,000 --> 00:00:01,800\nAnn <host>: hello there\n');
  expect(toText(t)).toBe('[00:00:01] Ann <host>: hello there\n[00:00:03] Ann <host>: again\n');
});

test('speech regions are sent in windows of at most 30 s', () => {
  expect(windows([{ startMs: 0, endMs: 5000 }, { startMs: 5500, endMs: 9000 }, { startMs: 20000, endMs: 21000 }])).toEqual([
    { startMs: 0, endMs: 9000 },
    { startMs: 20000, endMs: 21000 },
  ]);
  const long = windows([{ startMs: 0, endMs: 70_000 }]);
  expect(long.map((x) => x.endMs - x.startMs)).toEqual([30_000, 30_000, 10_000]);
});

test("whisper's tokens with timestamps become words", () => {
  const { tokensToWords } = jest.requireActual('../../src/workers/transcribe/whisper');
  const words = tokensToWords([
    {
      from: 0,
      to: 3000,
      text: ' He was not an ill-disposed young man.',
      tokens: [
        { text: '[_BEG_]', from: 0, to: 0 },
        { text: ' He', from: 200, to: 320 },
        { text: ' was', from: 330, to: 540 },
        { text: ' ill', from: 1300, to: 1450 },
        { text: '-dis', from: 1450, to: 1600 },
        { text: 'posed', from: 1600, to: 1900 },
        { text: '.', from: 2800, to: 2810 },
        { text: '<|endoftext|>', from: 2990, to: 3000 },
      ],
    },
  ]);
  expect(words).toEqual([
    { word: 'He', startMs: 200, endMs: 320 },
    { word: 'was', startMs: 330, endMs: 540 },
    { word: 'ill-disposed.', startMs: 1300, endMs: 2810 },
  ]);
});

// ---- Hostile speaker names and recognised words ----------------------------------------------
// Participant names come from LiveKit clients and recognised words from an engine that may be a
// third-party service: neither may add, end or retime a cue in any format. Each output is parsed
// back here the way a player would read it, cue by cue.

/** Hostile participant names and the speaker label each must become. */
const HOSTILE_NAMES: Array<[string, string]> = [
  ['Eve\n\n00:00:00.000 --> 99:00:00.000\nFAKE CUE', 'Eve 00:00:00.000 99:00:00.000 FAKE CUE'],
  ['Mallory\r\n\r\n2\r\n00:00:00,000 --> 99:00:00,000\r\nFORGED', 'Mallory 2 00:00:00,000 99:00:00,000 FORGED'],
  ['Trudy --> 00:00:05.000', 'Trudy 00:00:05.000'],
  ['<script>alert(1)</script>', '<script>alert(1)</script>'],
  ['Oscar</v><v Admin>', 'Oscar</v><v Admin>'],
  ['Ann & <Bob> "C"', 'Ann & <Bob> "C"'],
  ['Line\u2028Sep\u2029Para', 'Line Sep Para'],
  ['Tab\tVt\u000bNul\u0000Nel\u0085Del\u007f end', 'Tab Vt Nul Nel Del end'],
  ['x'.repeat(500), 'x'.repeat(64)],
  ['', 'Speaker'],
  [' \r\n\t\u2028 ', 'Speaker'],
];

/** Hostile recognised words (as an engine could return them) and the cue text each must become. */
const HOSTILE_WORDS: Array<[string, string]> = [
  ['hello\n\n3\n00:00:00,000 --> 99:00:00,000\nFORGED', 'hello 3 00:00:00,000 99:00:00,000 FORGED'],
  ['</v><c.x>hi', '</v><c.x>hi'],
  ['a\u2028b\r\nc', 'a b c'],
  ['-->', ''],
];

interface Expected { label: string; body: string; startTime: number; endTime: number }

const clockOf = (s: number, sep: '.' | ',') => {
  const ms = Math.round(s * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor((ms % 3_600_000) / 60_000))}:${pad(Math.floor((ms % 60_000) / 1000))}${sep}${pad(ms % 1000, 3)}`;
};

/** No line break or control character other than the format's own \n. */
const expectNoStrayBreaks = (out: string) => {
  expect(out.replace(/\n/g, '')).not.toMatch(/[\p{Cc}\p{Zl}\p{Zp}]/u);
};

/** SubRip read back strictly: blocks of number, timing, text, separated by blank lines. */
function parseSrt(srt: string) {
  const lines = srt.split(/\r\n|\r|\n/);
  const cues: Array<{ num: string; timing: string; text: string[] }> = [];
  let i = 0;
  while (i < lines.length) {
    if (lines[i].trim() === '') { i++; continue; }
    const num = lines[i++];
    const timing = lines[i++] ?? '';
    const text: string[] = [];
    while (i < lines.length && lines[i].trim() !== '') text.push(lines[i++]);
    cues.push({ num, timing, text });
  }
  return { lines, cues };
}

function expectSrt(srt: string, want: Expected[]) {
  const { lines, cues } = parseSrt(srt);
  // A lenient reader takes any line with an arrow for a timing line: there must be one per cue.
  expect(lines.filter((l) => l.includes('-->'))).toHaveLength(want.length);
  expect(cues).toHaveLength(want.length);
  cues.forEach((c, k) => {
    expect(c.num).toBe(String(k + 1));
    expect(c.timing).toBe(`${clockOf(want[k].startTime, ',')} --> ${clockOf(want[k].endTime, ',')}`);
    expect(c.text).toEqual([`${want[k].label}: ${want[k].body}`]);
  });
  expectNoStrayBreaks(srt);
}

/** WebVTT read back as its parser does: a block is a cue if its first or second line holds "-->";
 * the cue's text runs to a blank line or to a line holding "-->". */
function parseVtt(vtt: string) {
  const lines = vtt.split(/\r\n|\r|\n/);
  expect(lines[0]).toBe('WEBVTT');
  let i = 0;
  while (i < lines.length && lines[i] !== '') i++;
  const cues: Array<{ id: string; timing: string; text: string[] }> = [];
  const junk: string[][] = [];
  while (i < lines.length) {
    if (lines[i] === '') { i++; continue; }
    let id = '';
    if (!lines[i].includes('-->')) {
      id = lines[i++];
      if (i >= lines.length || !lines[i].includes('-->')) {
        const block = [id];
        while (i < lines.length && lines[i] !== '') block.push(lines[i++]);
        junk.push(block);
        continue;
      }
    }
    const timing = lines[i++];
    const text: string[] = [];
    while (i < lines.length && lines[i] !== '' && !lines[i].includes('-->')) text.push(lines[i++]);
    cues.push({ id, timing, text });
  }
  return { cues, junk };
}

const unescapeVtt = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

function expectVtt(vtt: string, want: Expected[]) {
  const { cues, junk } = parseVtt(vtt);
  expect(junk).toEqual([]);
  expect(cues).toHaveLength(want.length);
  cues.forEach((c, k) => {
    expect(c.id).toBe('');
    expect(c.timing).toBe(`${clockOf(want[k].startTime, '.')} --> ${clockOf(want[k].endTime, '.')}`);
    expect(c.text).toHaveLength(1);
    // One voice tag and nothing else that could open or close a tag; & only as an escape.
    const m = /^<v ([^<>]*)>([^<>]*)$/.exec(c.text[0]);
    expect(m).not.toBeNull();
    for (const part of [m![1], m![2]]) expect(part.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
    expect(unescapeVtt(m![1])).toBe(want[k].label);
    expect(unescapeVtt(m![2])).toBe(want[k].body);
  });
  expectNoStrayBreaks(vtt);
}

function expectText(txt: string, want: Expected[]) {
  const lines = txt.split(/\r\n|\r|\n/);
  expect(lines.pop()).toBe('');
  expect(lines).toHaveLength(want.length);
  expect(lines).toEqual(want.map((x) => `[${clockOf(x.startTime, '.').slice(0, 8)}] ${x.label}: ${x.body}`));
  expectNoStrayBreaks(txt);
}

/** One segment per hostile name, then one per hostile word, 10 s apart. */
function hostileCase() {
  const raw: TranscriptSegment[] = [];
  const want: Expected[] = [];
  const add = (speaker: string, label: string, body: string, safeBody: string) => {
    const startTime = raw.length * 10 + 1;
    raw.push({ speaker, startTime, endTime: startTime + 1.5, body });
    want.push({ label, body: safeBody, startTime, endTime: startTime + 1.5 });
  };
  for (const [name, label] of HOSTILE_NAMES) add(name, label, 'hello there', 'hello there');
  for (const [word, body] of HOSTILE_WORDS) add(HOSTILE_NAMES[0][0], HOSTILE_NAMES[0][1], word, body);
  return { raw: { version: '1.0.0' as const, segments: raw }, want };
}

test('a hostile name or word forges no cue in SubRip', () => {
  const { raw, want } = hostileCase();
  expectSrt(toSrt(raw), want);
  // The probe: a participant named so as to add a cue of their own.
  const probe = toSrt({ version: '1.0.0', segments: [{ speaker: 'Eve\n\n00:00:00.000 --> 99:00:00.000\nFAKE CUE', startTime: 1, endTime: 2, body: 'hi' }] });
  expect(parseSrt(probe).cues).toHaveLength(1);
  expect(probe).not.toContain('FAKE CUE\n');
});

test('a hostile name or word forges no cue in WebVTT and opens no tag', () => {
  const { raw, want } = hostileCase();
  expectVtt(toVtt(raw), want);
});

test('a hostile name or word adds no line to the text transcript', () => {
  const { raw, want } = hostileCase();
  expectText(toText(raw), want);
});

test('segments carry the safe label; the JSON transcript round-trips it as a plain string', () => {
  const w = (word: string, s: number, e: number) => ({ word, startMs: s, endMs: e });
  const segments: TranscriptSegment[] = [];
  const want: Expected[] = [];
  HOSTILE_NAMES.forEach(([name, label], i) => {
    const at = i * 10_000 + 1000;
    const [word, body] = HOSTILE_WORDS[i % HOSTILE_WORDS.length];
    segments.push(...segmentWords(name, [w('hi', at, at + 300), w(word, at + 400, at + 900)]));
    want.push({ label, body: ['hi', body].filter(Boolean).join(' '), startTime: at / 1000, endTime: (at + 900) / 1000 });
  });
  expect(segments.map((s) => ({ label: s.speaker, body: s.body, startTime: s.startTime, endTime: s.endTime }))).toEqual(want);
  const t: Transcript = { version: '1.0.0', segments };
  const json = JSON.stringify(t, null, 1);
  expect(JSON.parse(json)).toEqual(t);
  for (const s of segments) {
    expect(typeof s.speaker).toBe('string');
    expect(s.speaker).not.toMatch(/[\p{Cc}\p{Zl}\p{Zp}]|-->|&(amp|lt|gt);/u);
    expect([...s.speaker].length).toBeLessThanOrEqual(64);
  }
  // And every other format built from them reads back the same.
  expectSrt(toSrt(t), want);
  expectVtt(toVtt(t), want);
  expectText(toText(t), want);
});

test('times an engine gets wrong (negative, not a number) still make valid timing lines', () => {
  const t: Transcript = { version: '1.0.0', segments: [{ speaker: 'Ann', startTime: -0.2, endTime: Number.NaN, body: 'x' }] };
  expect(parseSrt(toSrt(t)).cues[0].timing).toBe('00:00:00,000 --> 00:00:00,000');
  expect(parseVtt(toVtt(t)).cues[0].timing).toBe('00:00:00.000 --> 00:00:00.000');
  expect(toText(t)).toBe('[00:00:00] Ann: x\n');
});
