import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import type { Logger } from '../../shared/log';
import { SAMPLE_RATE } from '../../contracts/audio';
import { AacConfig, AdtsReader } from './adts';

/**
 * FFmpeg 5's default AAC coder (twoloop) took 0.026 CPU-s per second of speech here, `fast` 0.008,
 * with a higher waveform SNR (30 vs 20 dB) but ~13 % over the nominal bitrate on speech (README,
 * Benchmarks). Live encoding runs for every room all the time; it pays. (bench/ingest.ts's codec
 * floor encodes with the same arguments.)
 */
export const aacCodecArgs = (bitrateKbps: number): string[] => ['-c:a', 'aac', '-aac_coder', 'fast', '-b:a', `${bitrateKbps}k`];

/**
 * One long-lived FFmpeg per room encoding the live mix to AAC-LC (ADTS on stdout, written frame by
 * frame): 48 kHz mono s16le PCM in, raw AAC frames out as soon as FFmpeg has them.
 */
export class AacEncoder {
  private readonly ff: ChildProcessWithoutNullStreams;
  private readonly exited: Promise<number | null>;
  private stderr = '';
  private failed: Error | undefined;

  constructor(
    bitrateKbps: number,
    private readonly log: Logger,
    onFrame: (raw: Buffer, config: AacConfig) => void,
  ) {
    const args = [
      '-hide_banner', '-nostdin', '-loglevel', 'error',
      '-f', 's16le', '-ar', String(SAMPLE_RATE), '-ac', '1', '-i', 'pipe:0',
      ...aacCodecArgs(bitrateKbps),
      '-flush_packets', '1', '-f', 'adts', 'pipe:1',
    ];
    this.ff = spawn('ffmpeg', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.ff.stdin.on('error', (err) => log.error({ err }, 'AAC encoder stdin failed'));
    this.ff.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    const reader = new AdtsReader(onFrame);
    this.ff.stdout.on('data', (d: Buffer) => {
      if (this.failed) return;
      try {
        reader.push(d);
      } catch (err) {
        this.failed = err as Error;
        log.error({ err }, 'AAC encoder output unreadable');
      }
    });
    this.exited = new Promise((resolve) => this.ff.on('close', (code) => resolve(code)));
  }

  get pid(): number | undefined {
    return this.ff.pid;
  }

  write(pcm: Int16Array): void {
    this.ff.stdin.write(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
  }

  /** Ends the input; resolves once FFmpeg has handed over its last frame. */
  async close(): Promise<void> {
    this.ff.stdin.end();
    const code = await this.exited;
    if (code !== 0) this.log.error({ code, stderr: this.stderr }, 'AAC encoder exited with an error');
  }

  kill(): void {
    this.ff.kill('SIGKILL');
  }
}
