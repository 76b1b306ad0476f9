import { spawn as spawnChild, SpawnOptions } from 'node:child_process';
import { SAMPLE_RATE } from '../contracts/audio';

/** Niceness of the children started here (the workers set it: background work yields to live ingest). */
let childNice = 0;
export function setChildPriority(nice: number): void {
  childNice = nice;
}

// nice execs the program: same pid, so kill() and exit codes are the program's own.
const spawn = ((bin: string, args: readonly string[], opts: SpawnOptions = {}) =>
  childNice > 0 ? spawnChild('nice', ['-n', String(childNice), bin, ...args], opts) : spawnChild(bin, args, opts)) as typeof spawnChild;

/** Runs FFmpeg to completion; rejects with the tail of its stderr. */
export function runFfmpeg(args: string[], opts: { timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  return runProcess('ffmpeg', ['-hide_banner', '-nostdin', ...args], opts);
}

/** Runs a program to completion (killed past timeoutMs); rejects with the tail of its stderr. */
export function runProcess(bin: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr = (stderr + d).slice(-20_000)));
    const timer = opts.timeoutMs ? setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs) : undefined;
    p.on('error', reject);
    p.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${bin} failed (${signal === 'SIGKILL' && opts.timeoutMs ? `timed out after ${opts.timeoutMs} ms` : signal ?? code}): ${stderr.slice(-1500)}`));
    });
  });
}

/** Streams decoded mono s16le PCM at `rate` to onChunk, without holding the file in memory. */
export function decodePcm(input: string, rate: number, onChunk: (pcm: Int16Array) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-i', input, '-f', 's16le', '-ac', '1', '-ar', String(rate), 'pipe:1']);
    let carry: Buffer = Buffer.alloc(0);
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      const buf = carry.length ? Buffer.concat([carry, d]) : d;
      const even = buf.length - (buf.length % 2);
      carry = buf.subarray(even);
      const aligned = Buffer.from(buf.subarray(0, even));
      onChunk(new Int16Array(aligned.buffer, aligned.byteOffset, even / 2));
    });
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`decoding ${input} failed: ${stderr.slice(-800)}`))));
  });
}

/** An FFmpeg fed raw PCM on stdin (write waits while its pipe is full); end() waits for it to exit. */
export interface PcmSink {
  write(pcm: Int16Array): Promise<void>;
  end(): Promise<{ stderr: string }>;
}

/** FFmpeg reading mono s16le (48 kHz unless told) from stdin; `args` are its filters, encoders and outputs. */
export function pcmSink(args: string[], rate = SAMPLE_RATE): PcmSink {
  const p = spawn('ffmpeg', ['-hide_banner', '-f', 's16le', '-ar', String(rate), '-ac', '1', '-i', 'pipe:0', ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  let failure: Error | null = null;
  p.stderr.on('data', (d) => (stderr = (stderr + d).slice(-20_000)));
  p.stdin.on('error', (err) => (failure ??= err));
  const exited = new Promise<{ stderr: string }>((resolve, reject) => {
    p.on('error', reject);
    p.on('close', (code, signal) => (code === 0 ? resolve({ stderr }) : reject(new Error(`ffmpeg failed (${signal ?? code}): ${stderr.slice(-1500)}`))));
  });
  exited.catch((err) => (failure ??= err));
  return {
    async write(pcm) {
      if (failure) throw failure;
      if (!p.stdin.write(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength))) {
        await new Promise<void>((resolve) => {
          const done = () => { p.stdin.off('drain', done); p.off('close', done); resolve(); };
          p.stdin.once('drain', done);
          p.once('close', done);
        });
      }
      if (failure) throw failure;
    },
    end() {
      p.stdin.end();
      return exited;
    },
  };
}
