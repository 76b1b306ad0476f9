import { execFileSync } from 'node:child_process';
import { SAMPLE_RATE } from '../ingest/pipeline/timeline';

/** A sound placed at a moment of a bot's script (ms from the script's epoch). */
export interface Cue {
  atMs: number;
  pcm: Int16Array;
}

/** What a bot says and when: cues on one clock, rendered on demand in 10 ms frames. */
export class Program {
  private readonly cues: Array<{ start: number; pcm: Int16Array }>;

  constructor(cues: Cue[]) {
    this.cues = cues
      .map((c) => ({ start: Math.round((c.atMs * SAMPLE_RATE) / 1000), pcm: c.pcm }))
      .sort((a, b) => a.start - b.start);
  }

  /** Samples [from, from + n) of the script. */
  render(from: number, n: number): Int16Array {
    const out = new Int16Array(n);
    for (const c of this.cues) {
      const end = c.start + c.pcm.length;
      if (end <= from || c.start >= from + n) continue;
      const a = Math.max(from, c.start);
      const b = Math.min(from + n, end);
      for (let i = a; i < b; i++) {
        const v = out[i - from] + c.pcm[i - c.start];
        out[i - from] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      }
    }
    return out;
  }

  get endMs(): number {
    const end = Math.max(0, ...this.cues.map((c) => c.start + c.pcm.length));
    return (end / SAMPLE_RATE) * 1000;
  }
}

/** A sine burst with 5 ms fades (no clicks), amplitude in dBFS. */
export function tone(freq: number, durMs: number, dbfs = -12): Int16Array {
  const n = Math.round((durMs * SAMPLE_RATE) / 1000);
  const amp = 32767 * 10 ** (dbfs / 20);
  const fade = Math.round(0.005 * SAMPLE_RATE);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const env = Math.min(1, i / fade, (n - 1 - i) / fade);
    out[i] = Math.round(amp * env * Math.sin((2 * Math.PI * freq * i) / SAMPLE_RATE));
  }
  return out;
}

/** Any audio file FFmpeg reads, as 48 kHz mono s16 PCM. */
export function loadAudio(file: string): Int16Array {
  const buf = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 's16le', '-ac', '1', '-ar', String(SAMPLE_RATE), 'pipe:1'], {
    maxBuffer: 512 * 1024 * 1024,
  });
  return new Int16Array(buf.buffer, buf.byteOffset, Math.floor(buf.byteLength / 2));
}

/** Speech from espeak-ng (Debian), as 48 kHz PCM. */
export function speak(text: string, voice = 'en-us'): Int16Array {
  const wav = execFileSync('espeak-ng', ['-v', voice, '-s', '150', '--stdout', text], { maxBuffer: 64 * 1024 * 1024 });
  const buf = execFileSync('ffmpeg', ['-v', 'error', '-i', 'pipe:0', '-f', 's16le', '-ac', '1', '-ar', String(SAMPLE_RATE), 'pipe:1'], {
    input: wav,
    maxBuffer: 64 * 1024 * 1024,
  });
  return new Int16Array(buf.buffer, buf.byteOffset, Math.floor(buf.byteLength / 2));
}
