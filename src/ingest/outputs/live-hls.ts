import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../shared/log';
import { metrics } from '../../shared/metrics';
import { rel } from '../../contracts/layout';
import { SAMPLE_RATE } from '../../contracts/audio';
import { HlsPlaylists, PlaylistSegment } from './playlists';
import type { Uploader } from '../spool/uploader';
import { AacEncoder } from './aac-encoder';
import type { EdgePublisher } from './edge-publisher';
import { AAC_FRAME_SAMPLES, initSegment } from './fmp4';
import { CutPart, CutSegment, PartCutter } from './part-cutter';
import type { MixOutput } from './output';

export interface LiveHlsOptions {
  spoolDir: string;
  segmentSeconds: number;
  /** AAC frames per LL-HLS part (10: 213 ms). */
  partFrames: number;
  liveWindow: number;
  bitrateKbps: number;
  /** Wall-clock ms of the timeline's origin (EXT-X-PROGRAM-DATE-TIME). */
  startedAtMs: number;
  uploader: Uploader;
  log: Logger;
  /** Where parts go the moment they exist (the api's live edge); none: segments only. */
  edge?: EdgePublisher;
  onSegmentUploaded: (count: number, bytes: number) => void;
  /** A resumed recording: the segments already listed, and the timeline position (samples) it goes on from. */
  resume?: { segments: PlaylistSegment[]; position: number };
}

/**
 * FFmpeg's AAC encoder puts 1024 samples of priming before the audio and HLS players ignore MP4
 * edit lists; skipping as many input samples keeps the decoded stream on the recording's timeline.
 */
export const AAC_PRIMING_SAMPLES = 1024;

/**
 * The mix as live HLS in CMAF (fMP4 AAC): parts of `partFrames` AAC frames go to the live edge
 * (Redis → every api process, see contracts/live-edge.ts) as they are cut and are appended to the
 * segment's spool file; each segment is uploaded as it closes, and the S3 playlists are rewritten
 * after every upload, so they only ever list segments S3 has.
 */
export class LiveHlsOutput implements MixOutput {
  private readonly encoder: AacEncoder;
  private readonly cutter: PartCutter;
  readonly playlists: HlsPlaylists;
  private readonly dir: string;
  private toSkip = AAC_PRIMING_SAMPLES;
  private init: Buffer | undefined;
  private readonly firstSeq: number;
  /** The segment being written to the spool, part by part (never a sync write on the event loop). */
  private file: { msn: number; stream: WriteStream } | undefined;
  private readonly writing = new Set<Promise<void>>();
  readonly partTarget: number;
  private readonly targetDuration: number;

  constructor(private readonly o: LiveHlsOptions) {
    const listed = o.resume?.segments ?? [];
    this.firstSeq = listed.length ? listed[listed.length - 1].seq + 1 : 0;
    this.playlists = new HlsPlaylists(o.segmentSeconds, o.liveWindow, this.firstSeq);
    this.playlists.seed(listed);
    this.dir = path.join(o.spoolDir, path.dirname(rel.hlsSegment(0)));
    mkdirSync(this.dir, { recursive: true });
    const partSamples = o.partFrames * AAC_FRAME_SAMPLES;
    this.partTarget = partSamples / SAMPLE_RATE;
    const partsPerSegment = Math.max(1, Math.round((o.segmentSeconds * SAMPLE_RATE) / partSamples));
    const targetDuration = Math.ceil((partsPerSegment * partSamples) / SAMPLE_RATE);
    this.targetDuration = targetDuration;
    this.cutter = new PartCutter({
      firstMsn: this.firstSeq,
      position: o.resume?.position ?? 0,
      partFrames: o.partFrames,
      partsPerSegment,
      onPart: (p) => this.onPart(p),
      onSegment: (s) => this.onSegment(s),
    });
    this.encoder = new AacEncoder(o.bitrateKbps, o.log, (raw, config) => {
      if (!this.init) {
        this.init = initSegment(config, o.bitrateKbps * 1000);
        o.uploader.enqueue({ key: rel.hlsInit, body: this.init });
        o.edge?.publish({ t: 'run', firstMsn: this.firstSeq, discontinuity: !!o.resume, partTarget: this.partTarget, targetDuration }, this.init);
      }
      this.cutter.push(raw);
    });
  }

  get pids(): number[] {
    return this.encoder.pid ? [this.encoder.pid] : [];
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
  async close(): Promise<void> {
    await this.encoder.close();
    this.cutter.end();
    await Promise.all([...this.writing]);
  }

  kill(): void {
    this.encoder.kill();
    this.file?.stream.destroy();
  }

  /**
   * The S3 playlists; once the recording has ended, the live edge's end too. A hand-over sends no
   * end: the next recorder's run goes on (an end would put ENDLIST in front of live players).
   */
  publish(ended: boolean): void {
    this.o.uploader.enqueue({ key: rel.eventPlaylist, body: this.playlists.event(ended), live: !ended });
    this.o.uploader.enqueue({ key: rel.livePlaylist, body: this.playlists.live(ended), live: !ended });
    if (ended) this.o.edge?.publish({ t: 'end' });
  }

  private segmentFile(msn: number): string {
    return path.join(this.dir, path.basename(rel.hlsSegment(msn)));
  }

  private onPart(p: CutPart): void {
    // The spool keeps whole parts: a crash leaves a segment that plays up to its last part.
    if (this.file?.msn !== p.msn) this.file = { msn: p.msn, stream: createWriteStream(this.segmentFile(p.msn)) };
    this.file.stream.write(p.bytes);
    this.o.edge?.publish(
      { t: 'part', msn: p.msn, part: p.part, duration: p.samples / SAMPLE_RATE, segmentStartMs: this.o.startedAtMs + (p.segmentStart / SAMPLE_RATE) * 1000, last: p.last, partTarget: this.partTarget, targetDuration: this.targetDuration },
      p.bytes,
    );
  }

  private onSegment(s: CutSegment): void {
    const file = this.file;
    this.file = undefined;
    if (file?.msn !== s.msn) return;
    const written = new Promise<void>((resolve) => {
      file.stream.once('error', (err) => {
        this.o.log.error({ err, msn: s.msn }, 'HLS segment not written to the spool');
        resolve();
      });
      file.stream.end(() => {
        this.upload(s);
        resolve();
      });
    });
    this.writing.add(written);
    void written.then(() => this.writing.delete(written));
  }

  private upload(s: CutSegment): void {
    const key = rel.hlsSegment(s.msn);
    const closedAt = performance.now();
    this.o.uploader.enqueue({
      key,
      file: this.segmentFile(s.msn),
      onDone: (bytes) => {
        metrics.segmentsUploaded.inc();
        metrics.segmentUploadSeconds.observe((performance.now() - closedAt) / 1000);
        const grew = this.playlists.uploaded({
          seq: s.msn,
          uri: path.basename(key),
          duration: s.samples / SAMPLE_RATE,
          programDateTime: new Date(this.o.startedAtMs + (s.start / SAMPLE_RATE) * 1000),
          // A new encoder after a resume: the stream goes on after a gap.
          discontinuity: !!this.o.resume && s.msn === this.firstSeq,
        });
        if (grew) this.publish(false);
        this.o.onSegmentUploaded(this.playlists.count, bytes);
      },
    });
  }
}
