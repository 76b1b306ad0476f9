import { parseSphinxTimes } from '../../src/workers/transcribe/sphinx';
import { segmentWords, toSrt, toText, toVtt } from '../../src/workers/transcribe/formats';
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
