import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import createFlac from 'libflacjs';
import type { Logger } from '../../shared/log';
import { SAMPLE_RATE } from '../pipeline/timeline';

/**
 * Lossless chunks encoded in this process by libFLAC (libflacjs: libFLAC compiled to WebAssembly)
 * when FLAC_ENCODER=libflac, instead of an FFmpeg per stream (encoder.ts): an FFmpeg process costs ~9 MB of private memory and a pipe's
 * traffic, six of them per room (bench/ingest.ts, issue 15); libFLAC here costs ~0.0013 CPU-s per
 * second of speech and one heap for every stream of the process.
 */
type FlacLib = ReturnType<typeof createFlac>;
let lib: FlacLib | undefined;
let loading: Promise<void> | undefined;

/** Loads libFLAC once per process; a recording's outputs need it before they are made. */
export function loadFlac(): Promise<void> {
  loading ??= new Promise<void>((resolve, reject) => {
    // Emscripten's loader fetch()es its .wasm whenever a global fetch exists, and Node's fetch
    // cannot read a file path; without fetch it reads the file itself. It looks only while it is
    // required (synchronously), so fetch is hidden for exactly that long.
    const g = globalThis as { fetch?: typeof fetch };
    const saved = g.fetch;
    let flac: FlacLib;
    try {
      delete g.fetch;
      flac = createFlac('min.wasm');
    } catch (err) {
      return reject(err);
    } finally {
      g.fetch = saved;
    }
    const done = () => {
      lib = flac;
      resolve();
    };
    if (flac.isReady()) done();
    else flac.on('ready', done);
  });
  return loading;
}

function flacLib(): FlacLib {
  if (!lib) throw new Error('libFLAC is not loaded: await loadFlac() before making a FLAC output');
  return lib;
}

/** 50 ms: divides any whole second, and within the FLAC subset at 48 kHz (≤ 4608). */
const BLOCK_SAMPLES = SAMPLE_RATE / 20;
const COMPRESSION = 5;
/**
 * libFLAC takes 32-bit samples: one scratch buffer of a mixer block (100 ms) for every encoder of
 * the process (encoding is synchronous), not one per stream.
 */
const scratch = new Int32Array(SAMPLE_RATE / 10);
/**
 * Encoded frames are written in batches of up to 1 s of audio or 32 KB (a write per frame cost ~1 s
 * of the JS thread per minute at 4 rooms): a killed process loses at most that much of a chunk
 * beyond the mixer's own latency. FFmpeg's file buffer held 32 KB, many seconds of silence.
 */
const FLUSH_SAMPLES = SAMPLE_RATE;
const FLUSH_BYTES = 32 * 1024;

export interface ClosedChunk {
  /** Absolute path of the finished file in the spool. */
  file: string;
  index: number;
  /** Samples the file holds. */
  samples: number;
}

/**
 * One mono 48 kHz stream cut into FLAC files of `chunkSamples` each, numbered from `startIndex`.
 * Frames go to the file as they are encoded (batched, FLUSH_SAMPLES), so a killed process leaves a
 * file that decodes up to its last written frame (spool-recovery.ts uploads it); a finished file gets
 * its STREAMINFO (length, MD5) written in place. A failing encoder loses its own chunk only, never another stream's.
 */
export class FlacChunkEncoder {
  private encoder = 0;
  private fd: number | null = null;
  private file = '';
  private index: number;
  private inChunk = 0;
  private written = 0;
  private broken = false;
  private streamInfo: Buffer | null = null;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingSamples = 0;

  constructor(
    private readonly o: {
      name: string;
      dir: string;
      fileName: (index: number) => string;
      chunkSamples: number;
      startIndex: number;
      log: Logger;
      onChunk: (c: ClosedChunk) => void;
    },
  ) {
    flacLib();
    mkdirSync(o.dir, { recursive: true });
    this.index = o.startIndex;
  }

  write(pcm: Int16Array): void {
    let off = 0;
    while (off < pcm.length) {
      if (this.fd === null) this.open();
      const n = Math.min(pcm.length - off, this.o.chunkSamples - this.inChunk);
      this.encode(pcm.subarray(off, off + n));
      this.inChunk += n;
      off += n;
      if (this.inChunk === this.o.chunkSamples) this.finishChunk();
    }
  }

  /** Finishes the chunk in progress (the recording's last). */
  close(): Promise<void> {
    if (this.fd !== null) this.finishChunk();
    return Promise.resolve();
  }

  /** The process is failing: the chunk in progress stays in the spool as written so far. */
  kill(): void {
    if (this.encoder) flacLib().FLAC__stream_encoder_delete(this.encoder);
    this.encoder = 0;
    if (this.fd !== null) {
      this.flush();
      closeSync(this.fd);
    }
    this.fd = null;
  }

  private flush(): void {
    if (this.pendingBytes === 0 || this.fd === null) return;
    writeSync(this.fd, this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes));
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingSamples = 0;
  }

  private open(): void {
    const flac = flacLib();
    this.file = path.join(this.o.dir, this.o.fileName(this.index));
    this.fd = openSync(this.file, 'w');
    this.inChunk = 0;
    this.written = 0;
    this.broken = false;
    this.streamInfo = null;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingSamples = 0;
    this.encoder = flac.create_libflac_encoder(SAMPLE_RATE, 1, 16, COMPRESSION, 0, false, BLOCK_SAMPLES);
    const status = this.encoder
      ? flac.init_encoder_stream(
          this.encoder,
          (data, _bytes, samples) => {
            this.pending.push(Buffer.from(data)); // a view of libFLAC's heap: copied
            this.pendingBytes += data.length;
            this.pendingSamples += samples;
            this.written += samples;
          },
          (meta) => {
            if (meta) this.streamInfo = streamInfoBlock(meta);
          },
        )
      : -1;
    if (status !== 0) this.fail(`libFLAC would not start (status ${status})`);
  }

  private encode(pcm: Int16Array): void {
    if (this.broken) return;
    const flac = flacLib();
    for (let off = 0; off < pcm.length; off += scratch.length) {
      const n = Math.min(scratch.length, pcm.length - off);
      for (let i = 0; i < n; i++) scratch[i] = pcm[off + i];
      if (!flac.FLAC__stream_encoder_process_interleaved(this.encoder, scratch.subarray(0, n), n)) {
        return this.fail(`libFLAC failed (state ${flac.FLAC__stream_encoder_get_state(this.encoder)})`);
      }
    }
    if (this.pendingBytes >= FLUSH_BYTES || this.pendingSamples >= FLUSH_SAMPLES) this.flush();
  }

  private fail(why: string): void {
    if (this.broken) return;
    this.broken = true;
    this.o.log.error({ encoder: this.o.name, chunk: this.index, file: this.file }, `${why}: this chunk keeps what was written, the next starts afresh`);
  }

  private finishChunk(): void {
    const flac = flacLib();
    if (this.encoder) {
      if (!this.broken && !flac.FLAC__stream_encoder_finish(this.encoder)) this.fail('libFLAC could not finish the chunk');
      flac.FLAC__stream_encoder_delete(this.encoder);
      this.encoder = 0;
    }
    this.flush();
    // STREAMINFO is the first block, right after "fLaC" and its 4-byte header.
    if (this.streamInfo && !this.broken) writeSync(this.fd!, this.streamInfo, 0, this.streamInfo.length, 8);
    closeSync(this.fd!);
    this.fd = null;
    const samples = this.broken ? this.written : this.inChunk;
    const chunk = { file: this.file, index: this.index, samples };
    this.index++;
    this.inChunk = 0;
    if (samples > 0) this.o.onChunk(chunk);
  }
}

/** The 34 bytes of a STREAMINFO block (FLAC format, section 8.2) from libFLAC's final figures. */
function streamInfoBlock(m: { min_blocksize: number; max_blocksize: number; min_framesize: number; max_framesize: number; sampleRate: number; channels: number; bitsPerSample: number; total_samples: number; md5sum: string }): Buffer {
  const b = Buffer.alloc(34);
  b.writeUInt16BE(m.min_blocksize, 0);
  b.writeUInt16BE(m.max_blocksize, 2);
  b.writeUIntBE(m.min_framesize, 4, 3);
  b.writeUIntBE(m.max_framesize, 7, 3);
  b.writeBigUInt64BE((BigInt(m.sampleRate) << 44n) | (BigInt(m.channels - 1) << 41n) | (BigInt(m.bitsPerSample - 1) << 36n) | BigInt(m.total_samples), 10);
  if (/^[0-9a-f]{32}$/i.test(m.md5sum)) Buffer.from(m.md5sum, 'hex').copy(b, 18);
  return b;
}
