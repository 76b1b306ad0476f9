import { open } from 'node:fs/promises';
import { SPEECH_SAMPLE_RATE } from '../../contracts/audio';
import { decodePcm } from '../../shared/ffmpeg';
import { EngineConfigError, TranscriptionEngine, Word } from './engine';

/** ggml model files start with this magic ("ggml" or the little-endian "lmgg"). */
const MAGICS = ['ggml', 'lmgg', 'ggjt', 'tjgg', 'GGUF'];

/** Checks a whisper.cpp model file before anything loads it: a bad path is a clean error. */
export async function checkWhisperModel(file: string | undefined): Promise<string> {
  if (!file) throw new EngineConfigError('WHISPER_MODEL is not set (path to a ggml model, e.g. ggml-base.en.bin)');
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    throw new EngineConfigError(`WHISPER_MODEL ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    if (size < 1024 * 1024 || !MAGICS.includes(head.toString('latin1'))) {
      throw new EngineConfigError(`WHISPER_MODEL ${file} is not a whisper.cpp ggml model (${size} bytes, starts with ${JSON.stringify(head.toString('latin1'))})`);
    }
  } finally {
    await fh.close();
  }
  return file;
}

interface WhisperSegment {
  from: number;
  to: number;
  text: string;
  tokens?: Array<{ text: string; from?: number; to?: number }>;
}

/** Joins whisper's BPE tokens into words (a token starting with a space starts a word). */
export function tokensToWords(segments: WhisperSegment[]): Word[] {
  const words: Word[] = [];
  for (const seg of segments) {
    let cur: Word | undefined;
    for (const t of seg.tokens ?? []) {
      if (/^\s*(\[_|<\|)/.test(t.text) || t.from === undefined || t.to === undefined) continue;
      if (!cur || /^\s/.test(t.text)) {
        cur = { word: t.text.trim(), startMs: t.from, endMs: t.to };
        if (cur.word) words.push(cur);
      } else {
        cur.word += t.text;
        cur.endMs = t.to;
      }
    }
  }
  return words.filter((w) => /\w/.test(w.word));
}

interface SmartWhisper {
  Whisper: new (model: string, opts?: { gpu?: boolean }) => {
    load?(): Promise<unknown>;
    transcribe(pcm: Float32Array, opts: Record<string, unknown>): Promise<{ result: Promise<WhisperSegment[]> }>;
    free(): Promise<void>;
  };
}

/** whisper.cpp through smart-whisper (built for this CPU); token timestamps become word times. */
export class WhisperEngine implements TranscriptionEngine {
  readonly name = 'whisper';
  private whisper: Promise<InstanceType<SmartWhisper['Whisper']>> | undefined;

  constructor(private readonly modelPath: string | undefined) {}

  /** The model, loaded once however many windows ask for it at the same time (tried again after a failure). */
  private load() {
    this.whisper ??= this.open().catch((err) => {
      this.whisper = undefined;
      throw err;
    });
    return this.whisper;
  }

  private async open() {
    const model = await checkWhisperModel(this.modelPath);
    let mod: SmartWhisper;
    try {
      mod = (await import('smart-whisper' as string)) as SmartWhisper;
    } catch (err) {
      throw new EngineConfigError(`the whisper engine needs the smart-whisper package (see README): ${(err as Error).message}`);
    }
    // smart-whisper loads the model on first use: load it here, so a file that whisper.cpp cannot
    // read is a configuration error, not a failed transcription.
    try {
      const whisper = new mod.Whisper(model, { gpu: false });
      await whisper.load?.();
      return whisper;
    } catch (err) {
      throw new EngineConfigError(`WHISPER_MODEL ${model} does not load: ${(err as Error)?.message ?? err}`);
    }
  }

  async transcribe(wavFile: string, opts: { timeoutMs: number }): Promise<Word[]> {
    const w = await this.load();
    const parts: Int16Array[] = [];
    await decodePcm(wavFile, SPEECH_SAMPLE_RATE, (p) => parts.push(Int16Array.from(p)));
    const total = parts.reduce((n, p) => n + p.length, 0);
    const pcm = new Float32Array(total);
    let o = 0;
    for (const p of parts) for (let i = 0; i < p.length; i++) pcm[o++] = p[i] / 32768;
    const task = await w.transcribe(pcm, { language: 'en', format: 'detail', token_timestamps: true });
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`whisper timed out after ${opts.timeoutMs} ms`)), opts.timeoutMs).unref());
    const segments = await Promise.race([task.result, timeout]);
    return tokensToWords(segments);
  }
}
