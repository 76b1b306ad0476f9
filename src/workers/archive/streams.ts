import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SAMPLE_RATE } from '../../contracts/audio';
import type { ChunkEntry } from '../../contracts/manifest';
import { decodePcm, pcmSink, PcmSink, runFfmpeg } from '../../shared/ffmpeg';
import { concatPcm, wavFile } from '../../shared/wav';
import type { RecordingStore } from '../../storage/recording-store';
import { FrameActivity, PeakBins, regionsFrom, SpeechRegion } from '../analysis';
import { LoudnessMeasurement, measureLoudness, parseEbur128Summary, provisionalGainFilter, TARGET_LUFS } from '../loudness';
import { MIX_ARCHIVE, MIX_FORMATS, SPEAKER_CODEC, WAVEFORM_BIN_MS } from './outputs';

export const samplesFor = (ms: number) => Math.round((ms * SAMPLE_RATE) / 1000);

/** One chunk (c.key, relative to the recording) decoded at the timeline's rate, padded or cut to the length the manifest gives it. */
export async function readChunk(store: RecordingStore, c: ChunkEntry, scratch: string): Promise<Int16Array> {
  const bytes = await store.getBytes(c.key);
  if (!bytes) throw new Error(`chunk ${c.key} of ${store.recordingId} is listed in the manifest but not in storage`);
  await writeFile(scratch, bytes);
  const parts: Int16Array[] = [];
  await decodePcm(scratch, SAMPLE_RATE, (p) => parts.push(Int16Array.from(p)));
  const pcm = concatPcm(parts);
  const want = samplesFor(c.durationMs);
  if (pcm.length === want) return pcm;
  const out = new Int16Array(want);
  out.set(pcm.subarray(0, want));
  return out;
}

/** A stream being encoded as its chunks arrive: which chunk comes next and which were read. */
export abstract class ArchiveStream {
  next = 0;
  samples = 0;
  readonly read: number[] = [];
  /** Size of each chunk read (same order): a chunk rewritten after a resume has another. */
  readonly readBytes: number[] = [];

  async push(pcm: Int16Array, limit = Infinity): Promise<void> {
    const take = pcm.subarray(0, Math.max(0, Math.min(pcm.length, limit - this.samples)));
    this.samples += take.length;
    if (take.length > 0) await this.consume(take);
  }

  protected abstract consume(pcm: Int16Array): Promise<void>;
}

/**
 * Feeds a stream its chunks in order from where it stands: chunk k at k·chunkMs, silence where a
 * chunk will not come (before a speaker joined, after they left, a gap after a crash). While the
 * room is live a missing chunk is only settled once a later chunk of the stream is there or the
 * index is below `settledBelow`; once it has ended (endedAtMs) everything is, cut to its length.
 */
export async function feedChunks(
  stream: ArchiveStream,
  chunks: ChunkEntry[],
  o: { read: (c: ChunkEntry) => Promise<Int16Array>; chunkMs: number; endedAtMs: number | null; settledBelow: number; maxChunks?: number },
): Promise<number> {
  const byIndex = new Map(chunks.map((c) => [c.index, c]));
  const newest = Math.max(-1, ...byIndex.keys());
  const ended = o.endedAtMs !== null;
  const total = ended ? Math.ceil(o.endedAtMs! / o.chunkMs) : Infinity;
  const limit = ended ? samplesFor(o.endedAtMs!) : Infinity;
  // The next chunk is fetched and decoded while this one is encoded.
  let ahead: { index: number; pcm: Promise<Int16Array> } | null = null;
  const fetch = (c: ChunkEntry) => {
    const pcm = ahead?.index === c.index ? ahead.pcm : o.read(c);
    const next = o.maxChunks === undefined ? byIndex.get(c.index + 1) : undefined;
    ahead = next ? { index: next.index, pcm: o.read(next) } : null;
    ahead?.pcm.catch(() => undefined);
    return pcm;
  };
  let fed = 0;
  while (stream.next < total && fed < (o.maxChunks ?? Infinity)) {
    const k = stream.next;
    const c = byIndex.get(k);
    if (c) {
      const pcm = await fetch(c);
      await stream.push(pcm, limit);
      // A short chunk before the last (cut by a crash, rewritten after the resume) keeps its place.
      const full = samplesFor(Math.min(o.chunkMs, (o.endedAtMs ?? Infinity) - k * o.chunkMs));
      if (pcm.length < full) await stream.push(new Int16Array(full - pcm.length), limit);
      stream.read.push(k);
      stream.readBytes.push(c.bytes);
    } else if (ended || k < newest || k < o.settledBelow) {
      await stream.push(new Int16Array(samplesFor(Math.min(o.chunkMs, (o.endedAtMs ?? Infinity) - k * o.chunkMs))), limit);
    } else break;
    stream.next++;
    fed++;
  }
  if (ended && stream.next >= total && stream.samples < limit) await stream.push(new Int16Array(limit - stream.samples), limit);
  return fed;
}

/** A stream written to a file as it comes (FLAC, or whatever the arguments say). */
export class FileStream extends ArchiveStream {
  private readonly sink: PcmSink;

  constructor(readonly file: string, codec: string[] = ['-c:a', 'flac']) {
    super();
    this.sink = pcmSink(['-v', 'error', ...codec, '-y', file]);
  }

  protected consume(pcm: Int16Array) {
    return this.sink.write(pcm);
  }

  async finish(): Promise<string> {
    await this.sink.end();
    return this.file;
  }
}

/** One speaker's track: Opus over the whole recording, and where they talk. */
export class SpeakerStream extends ArchiveStream {
  private readonly activity = new FrameActivity(SAMPLE_RATE);
  private readonly sink: PcmSink;

  constructor(readonly file: string) {
    super();
    this.sink = pcmSink(['-v', 'error', ...SPEAKER_CODEC, '-y', file]);
  }

  protected async consume(pcm: Int16Array) {
    this.activity.push(pcm);
    await this.sink.write(pcm);
  }

  async finish(): Promise<SpeechRegion[]> {
    await this.sink.end();
    return regionsFrom(this.activity.active);
  }
}

/**
 * The mix: every archive format from one FFmpeg, at one gain. The gain needs a loudness measurement,
 * so audio is held until `measureMs` of it has arrived; then a provisional gain (with a limiter)
 * comes from that part. A room that ends first gets the exact two-pass gain from all of it.
 */
export class MixStream extends ArchiveStream {
  readonly peaks = new PeakBins(SAMPLE_RATE, WAVEFORM_BIN_MS);
  private held: Int16Array[] = [];
  private heldSamples = 0;
  private nextMeasure: number;
  private sink: PcmSink | null = null;
  gainDb = 0;
  measuredMs = 0;

  constructor(private readonly workdir: string, private readonly measureMs: number, private readonly maxHoldMs: number) {
    super();
    this.nextMeasure = samplesFor(measureMs);
  }

  file(ext: string) {
    return path.join(this.workdir, `mix.${ext}`);
  }

  protected async consume(pcm: Int16Array) {
    this.peaks.push(pcm);
    if (this.sink) return this.sink.write(pcm);
    this.held.push(pcm);
    this.heldSamples += pcm.length;
    if (this.heldSamples < this.nextMeasure) return;
    const m = await this.measureHeld();
    // Nothing audible yet: keep holding (up to a limit) rather than fix a gain from silence.
    if (Number(m.input_i) < -70 && this.heldSamples < samplesFor(this.maxHoldMs)) {
      this.nextMeasure = this.heldSamples + samplesFor(this.measureMs);
      return;
    }
    await this.start(await this.provisionalGain(m));
  }

  /**
   * A constant gain with a limiter after it: where the limiter works it also lowers the loudness,
   * so the gain is corrected by what the chain actually gives on the measured part.
   */
  private async provisionalGain(m: LoudnessMeasurement) {
    const first = provisionalGainFilter(m, 0);
    const got = await this.meterHeld(first.filter);
    if (!Number.isFinite(got.I) || got.I < -70) return first;
    return provisionalGainFilter(m, Math.max(0, Math.min(6, TARGET_LUFS - got.I)));
  }

  /** Ends the encoders; the loudness of what they were given (before encoding). */
  async finish(): Promise<{ I: number; TP: number }> {
    // The room ended before a gain was fixed: the same constant gain + limiter, from all of it,
    // metered like the rest (loudnorm's dynamic mode was seen to land 1.2 LU short on a short room).
    if (!this.sink) await this.start(await this.provisionalGain(await this.measureHeld()));
    const { stderr } = await this.sink!.end();
    return parseEbur128Summary(stderr);
  }

  private async measureHeld() {
    const pcm = concatPcm(this.held);
    this.held = [pcm];
    await writeFile(this.heldWav, wavFile(pcm, SAMPLE_RATE));
    this.measuredMs = Math.round((pcm.length * 1000) / SAMPLE_RATE);
    return measureLoudness(this.heldWav);
  }

  /** Loudness of the held audio (as last measured) through a filter. */
  private async meterHeld(filter: string) {
    const { stderr } = await runFfmpeg(['-v', 'info', '-i', this.heldWav, '-af', `${filter},ebur128=peak=true:framelog=verbose`, '-f', 'null', '-']);
    return parseEbur128Summary(stderr);
  }

  private get heldWav() {
    return path.join(this.workdir, 'measure.wav');
  }

  private async start(gain: { filter: string; gainDb: number }) {
    this.gainDb = gain.gainDb;
    const labels = MIX_FORMATS.map((_, i) => `[f${i}]`).join('');
    const outputs = MIX_FORMATS.flatMap((ext, i) => ['-map', `[f${i}]`, ...MIX_ARCHIVE[ext].codec, '-y', this.file(ext)]);
    this.sink = pcmSink([
      '-v', 'info',
      '-filter_complex', `[0:a]${gain.filter},asplit=${MIX_FORMATS.length + 1}${labels}[m];[m]ebur128=peak=true:framelog=verbose[meter]`,
      ...outputs,
      '-map', '[meter]', '-f', 'null', '-',
    ]);
    const held = this.held;
    this.held = [];
    for (const pcm of held) await this.sink.write(pcm);
  }
}
