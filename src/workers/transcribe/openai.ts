import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { EngineConfigError, TranscriptionEngine, Word } from './engine';

const VerboseJson = z.object({
  text: z.string().optional(),
  words: z.array(z.object({ word: z.string(), start: z.number(), end: z.number() })).optional(),
  segments: z.array(z.object({ start: z.number(), end: z.number(), text: z.string() })).optional(),
});

/** Answers that mean the configuration is wrong (retrying cannot help); anything else (5xx, 429) may pass. */
const CONFIG_STATUSES: Record<number, string> = {
  401: 'check OPENAI_API_KEY',
  403: 'check OPENAI_API_KEY and its permissions',
  404: 'check OPENAI_BASE_URL and OPENAI_MODEL',
};

/** Any OpenAI-compatible POST /v1/audio/transcriptions (verbose_json with word timestamps). */
export class OpenAiEngine implements TranscriptionEngine {
  readonly name = 'openai';

  constructor(private readonly o: { baseUrl: string; apiKey?: string; model: string }) {
    if (!o.baseUrl) throw new EngineConfigError('OPENAI_BASE_URL is required for the openai engine');
  }

  async transcribe(wavFile: string, opts: { timeoutMs: number }): Promise<Word[]> {
    const form = new FormData();
    form.append('file', new Blob([await readFile(wavFile)], { type: 'audio/wav' }), path.basename(wavFile));
    form.append('model', this.o.model);
    form.append('response_format', 'verbose_json');
    form.append('timestamp_granularities[]', 'word');
    form.append('timestamp_granularities[]', 'segment');
    const res = await fetch(`${this.o.baseUrl.replace(/\/$/, '')}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: this.o.apiKey ? { Authorization: `Bearer ${this.o.apiKey}` } : {},
      body: form,
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    if (!res.ok) {
      const message = `transcription service answered ${res.status}: ${(await res.text()).slice(0, 300)}`;
      const hint = CONFIG_STATUSES[res.status];
      throw hint ? new EngineConfigError(`${message} (${hint})`) : new Error(message);
    }
    const body = VerboseJson.parse(await res.json());
    if (body.words?.length) {
      return body.words.map((w) => ({ word: w.word.trim(), startMs: Math.round(w.start * 1000), endMs: Math.round(w.end * 1000) }));
    }
    // Segment times only: spread each segment's words evenly over it.
    return (body.segments ?? []).flatMap((s) => {
      const words = s.text.trim().split(/\s+/).filter(Boolean);
      const step = ((s.end - s.start) * 1000) / Math.max(1, words.length);
      return words.map((word, i) => ({ word, startMs: Math.round(s.start * 1000 + i * step), endMs: Math.round(s.start * 1000 + (i + 1) * step) }));
    });
  }
}
