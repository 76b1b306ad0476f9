import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UnrecoverableError } from 'bullmq';
import { SPEECH_SAMPLE_RATE } from '../../src/contracts/audio';
import * as ffmpeg from '../../src/shared/ffmpeg';
import { wavFile } from '../../src/shared/wav';
import { EngineConfigError } from '../../src/workers/transcribe/engine';
import { OpenAiEngine } from '../../src/workers/transcribe/openai';
import { SphinxEngine } from '../../src/workers/transcribe/sphinx';
import { checkWhisperModel, WhisperEngine } from '../../src/workers/transcribe/whisper';

/** Configuration errors fail a job at once (BullMQ's UnrecoverableError); passing trouble is retried. */
const dir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-engine-errors-'));
const wav = path.join(dir, 'a.wav');
writeFileSync(wav, wavFile(new Int16Array(SPEECH_SAMPLE_RATE / 10), SPEECH_SAMPLE_RATE));

let server: http.Server;
let base = '';
let answer: (res: http.ServerResponse) => void;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (err: Error) => err);

test.each([401, 403, 404])('an OpenAI-compatible service answering %i is a configuration error', async (status) => {
  answer = (res) => res.writeHead(status).end('nope');
  const err = await failure(new OpenAiEngine({ baseUrl: base, model: 'whisper-1' }).transcribe(wav, { timeoutMs: 5000 }));
  expect(err).toBeInstanceOf(EngineConfigError);
  expect(err).toBeInstanceOf(UnrecoverableError);
  expect(err.message).toMatch(new RegExp(`answered ${status}: nope \\(check OPENAI_`));
});

test('5xx answers, refused connections and timeouts are retried', async () => {
  answer = (res) => res.writeHead(503).end('busy');
  const busy = await failure(new OpenAiEngine({ baseUrl: base, model: 'whisper-1' }).transcribe(wav, { timeoutMs: 5000 }));
  expect(busy.message).toMatch(/answered 503/);
  expect(busy).not.toBeInstanceOf(UnrecoverableError);
  const refused = await failure(new OpenAiEngine({ baseUrl: 'http://127.0.0.1:9', model: 'whisper-1' }).transcribe(wav, { timeoutMs: 5000 }));
  expect(refused).not.toBeInstanceOf(UnrecoverableError);
  answer = () => undefined;
  const slow = await failure(new OpenAiEngine({ baseUrl: base, model: 'whisper-1' }).transcribe(wav, { timeoutMs: 200 }));
  expect(slow).not.toBeInstanceOf(UnrecoverableError);
});

test('no OPENAI_BASE_URL is a configuration error', () => {
  expect(() => new OpenAiEngine({ baseUrl: '', model: 'whisper-1' })).toThrow(UnrecoverableError);
});

test('a missing or bad whisper model is a configuration error', async () => {
  await expect(checkWhisperModel(undefined)).rejects.toBeInstanceOf(UnrecoverableError);
  await expect(checkWhisperModel(path.join(dir, 'none.bin'))).rejects.toBeInstanceOf(UnrecoverableError);
  // Looks like a model but is not one: it does not load (or smart-whisper is not installed).
  const fake = path.join(dir, 'fake.bin');
  writeFileSync(fake, Buffer.concat([Buffer.from('ggml'), Buffer.alloc(2 * 1024 * 1024)]));
  const err = await failure(new WhisperEngine(fake).transcribe(wav, { timeoutMs: 1000 }));
  expect(err).toBeInstanceOf(EngineConfigError);
  expect(err.message).toMatch(/smart-whisper|does not load/);
});

test('a missing pocketsphinx is a configuration error; a failing one is not', async () => {
  const run = jest.spyOn(ffmpeg, 'runProcess');
  try {
    run.mockRejectedValueOnce(Object.assign(new Error('spawn pocketsphinx_continuous ENOENT'), { code: 'ENOENT' }));
    await expect(new SphinxEngine().transcribe(wav, { timeoutMs: 1000 })).rejects.toBeInstanceOf(EngineConfigError);
    run.mockRejectedValueOnce(new Error('pocketsphinx_continuous failed (SIGKILL)'));
    const err = await failure(new SphinxEngine().transcribe(wav, { timeoutMs: 1000 }));
    expect(err).not.toBeInstanceOf(UnrecoverableError);
  } finally {
    run.mockRestore();
  }
});
