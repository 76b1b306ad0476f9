import { readFileSync } from 'node:fs';
import path from 'node:path';
import { singleLine, speakerLabel, SPEAKER_LABEL_MAX } from '../../src/shared/speaker-label';
import { toVtt } from '../../src/workers/transcribe/formats';

const HOSTILE = [
  'Eve\n\n00:00:00.000 --> 99:00:00.000\nFAKE CUE',
  'Mallory\r\n\r\n2\r\n00:00:00,000 --> 99:00:00,000\r\nFORGED',
  'Trudy --> 00:00:05.000',
  '----->>> a-- >b',
  '<script>alert(1)</script>',
  'Oscar</v><v Admin>',
  'Ann &amp; <Bob> "C"',
  'Line\u2028Sep\u2029Para',
  'Tab\tVt\u000bFf\u000cNul\u0000Nel\u0085Del\u007fEsc\u001b[31m end',
  '\u202Eevil\u202C \u2066iso\u2069',
  'lone \ud800 half',
  '👩‍👩‍👧 Ünïcødé 名前',
  'x'.repeat(500),
  '😀'.repeat(100),
  ' ',
  '',
];

test('a name becomes one short plain line', () => {
  expect(speakerLabel('Eve\n\n00:00:00.000 --> 99:00:00.000\nFAKE CUE')).toBe('Eve 00:00:00.000 99:00:00.000 FAKE CUE');
  expect(speakerLabel('  Ann \t  Lee  ')).toBe('Ann Lee');
  expect(speakerLabel('Line\u2028Sep\u2029Para\u0085Nel')).toBe('Line Sep Para Nel');
  expect(speakerLabel('\u202Eevil\u202C')).toBe('evil');
  expect(speakerLabel('----->>>')).toBe('--- >>'); // no arrow left, none made
  expect(speakerLabel('<b>&amp;</b>')).toBe('<b>&amp;</b>'); // markup is escaped by the format that needs it
  expect(speakerLabel('lone \ud800 half')).toBe('lone \ufffd half');
  expect(speakerLabel('x'.repeat(500))).toBe('x'.repeat(SPEAKER_LABEL_MAX));
  expect(speakerLabel('😀'.repeat(100))).toBe('😀'.repeat(SPEAKER_LABEL_MAX)); // code points, no half pair
  expect(speakerLabel(`${'a'.repeat(63)} b`)).toBe('a'.repeat(63)); // no trailing space after the cut
});

test('an empty name falls back to the identity, then to "Speaker"', () => {
  expect(speakerLabel('', 'PA_abc')).toBe('PA_abc');
  expect(speakerLabel(' \r\n\u2028 ', 'id\nwith break')).toBe('id with break');
  expect(speakerLabel('', '')).toBe('Speaker');
  expect(speakerLabel('-->')).toBe('Speaker');
  expect(speakerLabel(undefined)).toBe('Speaker');
  expect(speakerLabel(null, null)).toBe('Speaker');
});

test('labels and lines hold no break, control character or arrow, and are stable', () => {
  for (const name of HOSTILE) {
    const label = speakerLabel(name);
    expect(label).not.toMatch(/[\p{Cc}\p{Zl}\p{Zp}\p{Cs}\u202A-\u202E\u2066-\u2069]|-->|\s\s|^\s|\s$/u);
    expect(Array.from(label).length).toBeLessThanOrEqual(SPEAKER_LABEL_MAX);
    expect(label.length).toBeGreaterThan(0);
    expect(speakerLabel(label)).toBe(label);
    const line = singleLine(name);
    expect(line).not.toMatch(/[\p{Cc}\p{Zl}\p{Zp}\p{Cs}]|-->/u);
    expect(singleLine(line)).toBe(line);
  }
});

/** The code between `// <tag>` and `// </tag>` in a player script, which cannot import modules. */
const block = (file: string, tag: string) => {
  const src = readFileSync(path.join(__dirname, '../../src/player', file), 'utf8');
  const m = new RegExp(`// <${tag}>[^\\n]*\\n([\\s\\S]*?)// </${tag}>`).exec(src);
  if (!m) throw new Error(`no <${tag}> block in ${file}`);
  return m[1];
};

test.each(['replay/replay.js', 'live/live.js'])('the copy of speakerLabel in %s gives the same labels', (file) => {
  const copy = new Function(`${block(file, 'speaker-label')}\nreturn speakerLabel;`)() as typeof speakerLabel;
  for (const name of HOSTILE) {
    expect(copy(name)).toBe(speakerLabel(name));
    expect(copy('', name)).toBe(speakerLabel('', name));
  }
  expect(copy(undefined, undefined)).toBe('Speaker');
});

test('the replay page reads a caption back from the WebVTT as plain text', () => {
  const captionText = new Function(
    `${block('replay/replay.js', 'speaker-label')}\n${block('replay/replay.js', 'caption-text')}\nreturn captionText;`,
  )() as (cueText: string) => string;
  for (const name of HOSTILE) {
    const body = 'a < b && c > d </v><script>x</script>';
    const vtt = toVtt({ version: '1.0.0', segments: [{ speaker: name, startTime: 1, endTime: 2, body }] });
    const cueText = vtt.split('\n')[3];
    expect(captionText(cueText)).toBe(`${speakerLabel(name)}: ${body}`);
  }
  expect(captionText('<v.loud Ann>hi <i>there</i> &#x26;&#38;&nbsp;')).toBe('Ann: hi there &&');
  expect(captionText('no voice &lt;b&gt;')).toBe('no voice <b>');
  expect(captionText('<v>anonymous')).toBe('anonymous');
});
