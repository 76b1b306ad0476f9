import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { EngineConfigError } from '../../src/workers/transcribe/engine';
import { OpenAiEngine } from '../../src/workers/transcribe/openai';
import { SphinxEngine } from '../../src/workers/transcribe/sphinx';
import { checkWhisperModel, WhisperEngine } from '../../src/workers/transcribe/whisper';

const CLIP = '/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav';
const dir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-engines-'));

test('sphinx transcribes a clip with word times inside it', async () => {
  const words = await new SphinxEngine().transcribe(CLIP, { timeoutMs: 30_000 });
  expect(words.map((w) => w.word)).toEqual(expect.arrayContaining(['he', 'was', 'not', 'young', 'man']));
  for (const w of words) {
    expect(w.endMs).toBeGreaterThan(w.startMs);
    expect(w.endMs).toBeLessThanOrEqual(3000);
  }
});

test('an engine that runs past its timeout is stopped with a clear error', async () => {
  const long = path.join(dir, 'long.wav');
  execFileSync('sox', ['-n', '-r', '16000', '-c', '1', '-b', '16', long, 'synth', '120', 'pinknoise', 'vol', '0.1']);
  await expect(new SphinxEngine().transcribe(long, { timeoutMs: 300 })).rejects.toThrow(/timed out after 300 ms/);
});

test('openai engine: posts verbose_json with word timestamps to an OpenAI-compatible service', async () => {
  const seen: Array<{ auth?: string; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('latin1');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ auth: req.headers.authorization, body });
      if (req.url !== '/v1/audio/transcriptions') return res.writeHead(404).end();
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ text: 'he was not', words: [{ word: 'he', start: 0.21, end: 0.32 }, { word: ' was', start: 0.33, end: 0.54 }, { word: 'not', start: 0.55, end: 0.97 }] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const engine = new OpenAiEngine({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'sk-test', model: 'whisper-1' });
    const words = await engine.transcribe(CLIP, { timeoutMs: 5000 });
    expect(words).toEqual([
      { word: 'he', startMs: 210, endMs: 320 },
      { word: 'was', startMs: 330, endMs: 540 },
      { word: 'not', startMs: 550, endMs: 970 },
    ]);
    expect(seen[0].auth).toBe('Bearer sk-test');
    for (const field of ['name="model"', 'whisper-1', 'verbose_json', 'name="timestamp_granularities[]"', 'RIFF']) expect(seen[0].body).toContain(field);
    await expect(new OpenAiEngine({ baseUrl: `http://127.0.0.1:${port}/nope`, model: 'm' }).transcribe(CLIP, { timeoutMs: 5000 })).rejects.toThrow(/answered 404/);
  } finally {
    server.close();
  }
});

describe('whisper engine', () => {
  test('model path problems are clean configuration errors, not crashes', async () => {
    await expect(checkWhisperModel(undefined)).rejects.toThrow(EngineConfigError);
    await expect(checkWhisperModel('/nonexistent/ggml-base.en.bin')).rejects.toThrow(/cannot be read: ENOENT/);
    const fake = path.join(dir, 'not-a-model.bin');
    writeFileSync(fake, Buffer.alloc(2 * 1024 * 1024, 7));
    await expect(checkWhisperModel(fake)).rejects.toThrow(/is not a whisper.cpp ggml model/);
    await expect(new WhisperEngine(fake).transcribe(CLIP, { timeoutMs: 1000 })).rejects.toThrow(EngineConfigError);
  });

  const model = process.env.WHISPER_MODEL;
  (model ? test : test.skip)('transcribes a clip with the configured model (set WHISPER_MODEL to run)', async () => {
    const words = await new WhisperEngine(model).transcribe(CLIP, { timeoutMs: 120_000 });
    expect(words.map((w) => w.word.toLowerCase().replace(/[^a-z]/g, ''))).toEqual(expect.arrayContaining(['young', 'man']));
  });
  if (!model) console.log('whisper transcription test skipped: no WHISPER_MODEL configured (see README, Transcription engines)');
});
