import path from 'node:path';
import type { Logger } from '../shared/log';
import { metrics } from '../shared/metrics';
import { rel } from '../contracts/layout';
import { SegmentingEncoder } from './encoder';
import { HlsPlaylists, PlaylistSegment } from './playlists';
import { SAMPLE_RATE } from './timeline';
import type { Uploader } from './uploader';

export interface HlsOutputOptions {
  spoolDir: string;
  segmentSeconds: number;
  liveWindow: number;
  bitrateKbps: number;
  /** Wall-clock ms of the encoder's first sample (EXT-X-PROGRAM-DATE-TIME). */
  startedAtMs: number;
  uploader: Uploader;
  log: Logger;
  onSegmentUploaded: (count: number, bytes: number) => void;
  /** A resumed recording: the segments already listed, and the timeline position (samples) it goes on from. */
  resume?: { segments: PlaylistSegment[]; position: number };
}

/**
 * FFmpeg's AAC encoder puts 1024 samples of priming before the audio, and MPEG-TS has no edit list
 * to hide them; skipping as many input samples keeps the decoded stream on the recording's timeline.
 */
export const AAC_PRIMING_SAMPLES = 1024;

/**
 * The mix as live HLS: AAC in MPEG-TS segments, each uploaded as it closes; the playlists are
 * rewritten after every upload and so only ever list segments that exist in S3.
 */
export class HlsOutput {
  private readonly encoder: SegmentingEncoder;
  readonly playlists: HlsPlaylists;
  private toSkip = AAC_PRIMING_SAMPLES;

  constructor(private readonly o: HlsOutputOptions) {
    const listed = o.resume?.segments ?? [];
    const firstSeq = listed.length ? listed[listed.length - 1].seq + 1 : 0;
    const offsetSeconds = (o.resume?.position ?? 0) / SAMPLE_RATE;
    this.playlists = new HlsPlaylists(o.segmentSeconds, o.liveWindow, firstSeq);
    this.playlists.seed(listed);
    this.encoder = new SegmentingEncoder({
      name: 'hls',
      // FFmpeg 5's default AAC coder (twoloop) took 0.026 CPU-s per second of speech here, `fast`
      // 0.008, with a higher waveform SNR (30 vs 20 dB) but ~13 % over the nominal bitrate on
      // speech (bench/README: figures). Live encoding runs for every room all the time; it pays.
      codec: ['-c:a', 'aac', '-aac_coder', 'fast', '-b:a', `${o.bitrateKbps}k`],
      format: 'mpegts',
      dir: path.join(o.spoolDir, path.dirname(rel.hlsSegment(0))),
      pattern: 'seg_%06d.ts',
      segmentSeconds: o.segmentSeconds,
      startNumber: firstSeq,
      log: o.log,
      onSegment: (s) => {
        const key = rel.hlsSegment(s.index);
        const closedAt = performance.now();
        o.uploader.enqueue({
          key,
          file: s.file,
          onDone: (bytes) => {
            metrics.segmentsUploaded.inc();
            metrics.segmentUploadSeconds.observe((performance.now() - closedAt) / 1000);
            const grew = this.playlists.uploaded({
              seq: s.index,
              uri: path.basename(key),
              duration: s.end - s.start,
              programDateTime: new Date(o.startedAtMs + (offsetSeconds + s.start) * 1000),
              // A new encoder after a resume: timestamps and continuity start over.
              discontinuity: !!o.resume && s.index === firstSeq,
            });
            if (grew) this.publish(false);
            o.onSegmentUploaded(this.playlists.count, bytes);
          },
        });
      },
    });
  }

  get pid(): number | undefined {
    return this.encoder.pid;
  }

  write(pcm: Int16Array): void {
    if (this.toSkip > 0) {
      const skip = Math.min(this.toSkip, pcm.length);
      this.toSkip -= skip;
      pcm = pcm.subarray(skip);
      if (pcm.length === 0) return;
    }
    this.encoder.write(pcm);
  }

  /** Ends the stream: every segment is closed and queued for upload when this resolves. */
  close(): Promise<void> {
    return this.encoder.close();
  }

  kill(): void {
    this.encoder.kill();
  }

  publish(ended: boolean): void {
    this.o.uploader.enqueue({ key: rel.eventPlaylist, body: this.playlists.event(ended), live: !ended });
    this.o.uploader.enqueue({ key: rel.livePlaylist, body: this.playlists.live(ended), live: !ended });
  }
}
