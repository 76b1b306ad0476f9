import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChunkEntry } from '../../src/contracts/manifest';
import { FlacChunkWriter } from '../../src/ingest/outputs/flac-chunks';
import { loadFlac } from '../../src/ingest/outputs/flac-encoder';
import type { Uploader } from '../../src/ingest/spool/uploader';
import { log } from '../../src/shared/log';

/**
 * FLAC_ENCODER's two encoders behind FlacChunkWriter — libFLAC in this process (the default) and an
 * FFmpeg per stream — cut the same chunks, report the same manifest entries and decode (with
 * FFmpeg, as the workers decode them) to the same samples, including a resumed recording's lead-in:
 * the live archive's inputs do not depend on the setting.
 */
const RATE = 48_000;
let root: string;
beforeAll(() => loadFlac());
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'roomcast-chunks-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function signal(n: number): Int16Array {
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / RATE;
    out[i] = Math.floor(t * 2) % 4 === 3 ? 0 : Math.round(8000 * Math.sin(2 * Math.PI * 330 * t) + 3000 * Math.sin(2 * Math.PI * 2210 * t));
  }
  return out;
}

const decode = (file: string) => {
  const b = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', file, '-f', 's16le', '-ac', '1', '-ar', String(RATE), '-'], { maxBuffer: 1 << 26 });
  return new Int16Array(b.buffer, b.byteOffset, b.length / 2);
};

/** Writes `pcm` from timeline position `start` (with `lead` before it) in mixer-sized blocks; returns the uploaded chunks and their samples. */
async function run(encoder: 'ffmpeg' | 'libflac', pcm: Int16Array, start: number, lead?: Int16Array) {
  const spoolDir = path.join(root, encoder);
  const files = new Map<string, string>();
  const entries: ChunkEntry[] = [];
  const uploader = { enqueue: (item: { key: string; file: string; onDone: (bytes: number) => void }) => {
    files.set(item.key, item.file);
    item.onDone(1);
  } } as unknown as Uploader;
  const w = new FlacChunkWriter({ name: 'mix', spoolDir, relKey: (i) => `mix/chunk_${String(i).padStart(6, '0')}.flac`, chunkSeconds: 2, startPosition: start, lead, uploader, log, onUploaded: (c) => entries.push(c), encoder });
  for (let off = 0; off < pcm.length; off += 4800) w.write(pcm.subarray(off, off + 4800));
  await w.close();
  entries.sort((a, b) => a.index - b.index);
  return { entries, samples: entries.map((e) => decode(files.get(e.key)!)) };
}

test.each([
  ['from the start', 0, false],
  ['resumed mid-chunk, with the audio the chunk already had', 3.25 * RATE, true],
])('both encoders give the same chunks and samples (%s)', async (_label, start, withLead) => {
  const pcm = signal(5.5 * RATE);
  const chunkStart = Math.floor(start / (2 * RATE)) * 2 * RATE;
  const lead = withLead ? signal(start - chunkStart).map((v) => -v) : undefined;
  const ff = await run('ffmpeg', pcm, start, lead);
  const lib = await run('libflac', pcm, start, lead);
  expect(lib.entries).toEqual(ff.entries);
  // Chunk k starts at k × 2 s; together they hold the lead-in (or silence) and then exactly what was written.
  expect(lib.entries.map((e) => e.startMs)).toEqual(lib.entries.map((e) => e.index * 2000));
  expect(lib.entries[0].index).toBe(chunkStart / (2 * RATE));
  const want = new Int16Array(start - chunkStart + pcm.length);
  if (lead) want.set(lead);
  want.set(pcm, start - chunkStart);
  for (const got of [lib.samples, ff.samples]) {
    const all = new Int16Array(got.reduce((n, s) => n + s.length, 0));
    got.reduce((at, s) => (all.set(s, at), at + s.length), 0);
    expect(all.length).toBe(want.length);
    expect(Buffer.from(all.buffer).equals(Buffer.from(want.buffer))).toBe(true);
  }
  expect(lib.entries.reduce((ms, e) => ms + e.durationMs, 0)).toBeCloseTo((want.length / RATE) * 1000, 0);
});
