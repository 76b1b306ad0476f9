import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Logger } from '../../shared/log';
import { SAMPLE_RATE } from '../pipeline/timeline';

export interface ClosedSegment {
  /** Absolute path of the finished file in the spool. */
  file: string;
  /** Sequence number in the file name. */
  index: number;
  /** Start and end in seconds from the encoder's first sample. */
  start: number;
  end: number;
}

export interface EncoderOptions {
  name: string;
  /** Codec arguments, e.g. ['-c:a', 'aac', '-b:a', '64k']. */
  codec: string[];
  /** segment muxer's inner format: mpegts, flac... */
  format: string;
  dir: string;
  /** printf pattern of file names, e.g. seg_%06d.ts. */
  pattern: string;
  segmentSeconds: number;
  startNumber: number;
  extra?: string[];
  log: Logger;
  onSegment: (s: ClosedSegment) => void;
}

/**
 * One long-lived FFmpeg that takes 48 kHz mono s16le PCM on stdin and cuts it into files with the
 * segment muxer, announcing each closed file on stdout (csv list) the moment it is complete.
 */
export class SegmentingEncoder {
  private readonly ff: ChildProcessWithoutNullStreams;
  private readonly exited: Promise<number | null>;
  private stderr = '';
  samplesIn = 0;

  constructor(private readonly o: EncoderOptions) {
    mkdirSync(o.dir, { recursive: true });
    const args = [
      '-hide_banner', '-nostdin', '-loglevel', 'error',
      '-f', 's16le', '-ar', String(SAMPLE_RATE), '-ac', '1', '-i', 'pipe:0',
      ...o.codec,
      ...(o.extra ?? []),
      '-f', 'segment', '-segment_time', String(o.segmentSeconds), '-segment_format', o.format,
      '-segment_list', 'pipe:1', '-segment_list_type', 'csv',
      '-segment_start_number', String(o.startNumber),
      path.join(o.dir, o.pattern),
    ];
    this.ff = spawn('ffmpeg', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.ff.stdin.on('error', (err) => o.log.error({ err, encoder: o.name }, 'encoder stdin failed'));
    this.ff.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    readline.createInterface({ input: this.ff.stdout }).on('line', (line) => {
      const [name, start, end] = line.split(',');
      const m = /(\d+)\.[a-z0-9]+$/.exec(name ?? '');
      if (!m) return;
      o.onSegment({ file: path.join(o.dir, path.basename(name)), index: Number(m[1]), start: Number(start), end: Number(end) });
    });
    this.exited = new Promise((resolve) => this.ff.on('close', (code) => resolve(code)));
  }

  get pid(): number | undefined {
    return this.ff.pid;
  }

  write(pcm: Int16Array): void {
    this.samplesIn += pcm.length;
    this.ff.stdin.write(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
  }

  /** Ends the input and waits until FFmpeg has closed (and announced) its last file. */
  async close(): Promise<void> {
    this.ff.stdin.end();
    const code = await this.exited;
    if (code !== 0) {
      this.o.log.error({ encoder: this.o.name, code, stderr: this.stderr }, 'encoder exited with an error');
    }
  }

  kill(): void {
    this.ff.kill('SIGKILL');
  }
}
