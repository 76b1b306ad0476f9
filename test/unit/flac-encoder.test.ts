import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClosedChunk, FlacChunkEncoder, loadFlac } from '../../src/ingest/outputs/flac-encoder';
import { log } from '../../src/shared/log';

/**
 * The in-process FLAC chunks (libflacjs) decode, with FFmpeg as the workers decode them, to exactly
 * the samples written, cut at the chunk boundaries; a finished chunk says its length and MD5; a
 * killed encoder leaves a chunk that decodes up to its last whole frame.
 */
const RATE = 48_000;
let dir: string;
beforeAll(() => loadFlac());
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-flac-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Speech-like test audio: two tones with a slow envelope, noise, and stretches of digital silence. */
function signal(n: number, seed = 1): Int16Array {
  const out = new Int16Array(n);
  let r = seed;
  for (let i = 0; i < n; i++) {
    r = (r * 1103515245 + 12345) & 0x7fffffff;
    const t = i / RATE;
    const silent = Math.floor(t * 2) % 5 === 3;
    const env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t);
    out[i] = silent ? 0 : Math.round(9000 * env * Math.sin(2 * Math.PI * 220 * t) + 4000 * Math.sin(2 * Math.PI * 1375 * t) + ((r % 2001) - 1000));
  }
  return out;
}

function decode(file: string): Int16Array {
  const b = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-f', 's16le', '-ac', '1', '-ar', String(RATE), '-'], { maxBuffer: 1 << 26 });
  return new Int16Array(b.buffer, b.byteOffset, b.length / 2);
}

function encoder(chunks: ClosedChunk[], startIndex = 0) {
  return new FlacChunkEncoder({
    name: 'test',
    dir,
    fileName: (i) => `chunk_${String(i).padStart(6, '0')}.flac`,
    chunkSamples: 2 * RATE,
    startIndex,
    log,
    onChunk: (c) => chunks.push(c),
  });
}

test('chunks decode bit-exact to what was written, cut every chunkSamples, numbered from startIndex', async () => {
  const pcm = signal(5.3 * RATE);
  const chunks: ClosedChunk[] = [];
  const enc = encoder(chunks, 7);
  // Writes of odd sizes (the mixer's 100 ms blocks, a resume's lead-in) straddle chunk boundaries.
  for (let off = 0, k = 0; off < pcm.length; k++) {
    const n = [4800, 1234, 48_000, 333][k % 4];
    enc.write(pcm.subarray(off, off + n));
    off += n;
  }
  expect(chunks.map((c) => c.index)).toEqual([7, 8]);
  await enc.close();
  expect(chunks.map((c) => [c.index, c.samples])).toEqual([[7, 2 * RATE], [8, 2 * RATE], [9, 1.3 * RATE]]);
  const decoded = chunks.map((c) => decode(c.file));
  decoded.forEach((d, k) => expect(d.length).toBe(chunks[k].samples));
  let at = 0;
  for (const d of decoded) {
    const want = pcm.subarray(at, at + d.length);
    const diff = d.findIndex((v, i) => v !== want[i]);
    expect(diff).toBe(-1);
    at += d.length;
  }
  // STREAMINFO: sample count (36 bits after rate/channels/bps) and MD5 of the samples, as libFLAC computed them.
  const head = readFileSync(chunks[2].file).subarray(0, 42);
  expect(head.subarray(0, 4).toString()).toBe('fLaC');
  const packed = head.readBigUInt64BE(8 + 10);
  expect(Number(packed >> 44n)).toBe(RATE);
  expect(Number(packed & 0xfffffffffn)).toBe(1.3 * RATE);
  const md5 = createHash('md5').update(Buffer.from(pcm.buffer, pcm.byteOffset + 4 * RATE * 2, 1.3 * RATE * 2)).digest('hex');
  expect(head.subarray(26, 42).toString('hex')).toBe(md5);
});

test('silence costs a few bytes; a killed encoder leaves what it had encoded, readable', () => {
  const chunks: ClosedChunk[] = [];
  const enc = encoder(chunks);
  enc.write(new Int16Array(2 * RATE));
  const pcm = signal(1.5 * RATE, 7);
  enc.write(pcm);
  // A SIGKILL now: the file holds all but the last second at most (the write batch), readable.
  const onDisk = decode(path.join(dir, 'chunk_000001.flac'));
  expect(onDisk.length).toBeGreaterThanOrEqual(0.5 * RATE - 2400);
  expect(onDisk.findIndex((v, i) => v !== pcm[i])).toBe(-1);
  enc.kill();
  expect(chunks).toHaveLength(1);
  expect(statSync(chunks[0].file).size).toBeLessThan(2000);
  expect(decode(chunks[0].file).every((v) => v === 0)).toBe(true);
  // kill() (the process failing) writes out the batch: every 50 ms frame libFLAC had finished.
  const partial = decode(path.join(dir, 'chunk_000001.flac'));
  expect(partial.length).toBeGreaterThanOrEqual(1.5 * RATE - 2400);
  expect(partial.length).toBeLessThanOrEqual(1.5 * RATE);
  expect(partial.findIndex((v, i) => v !== pcm[i])).toBe(-1);
});
