import { AAC_FRAME_SAMPLES, fragment } from './fmp4';

export interface CutPart {
  msn: number;
  part: number;
  bytes: Buffer;
  /** Samples it holds, and where its first one sits on the timeline. */
  samples: number;
  decodeTime: number;
  /** Timeline position of its segment's first sample. */
  segmentStart: number;
  /** It closes its segment. */
  last: boolean;
}

export interface CutSegment {
  msn: number;
  start: number;
  samples: number;
}

export interface PartCutterOptions {
  /** Media sequence number of the first segment. */
  firstMsn: number;
  /** Timeline position (samples) of the first decoded sample. */
  position: number;
  partFrames: number;
  partsPerSegment: number;
  onPart: (p: CutPart) => void;
  onSegment: (s: CutSegment) => void;
}

/**
 * Cuts the AAC frames of the live mix into LL-HLS parts (partFrames frames each, every one
 * independent: every AAC frame is) and segments (partsPerSegment parts). A part is announced the
 * moment its last frame arrives; its segment right after its last part.
 */
export class PartCutter {
  private frames: Buffer[] = [];
  private parts = 0;
  private msn: number;
  private decodeTime: number;
  private segmentStart: number;

  constructor(private readonly o: PartCutterOptions) {
    this.msn = o.firstMsn;
    this.decodeTime = o.position;
    this.segmentStart = o.position;
  }

  /** The next part's name: (segment, part) — what EXT-X-PRELOAD-HINT points at. */
  get next(): { msn: number; part: number } {
    return { msn: this.msn, part: this.parts };
  }

  push(frame: Buffer): void {
    this.frames.push(frame);
    if (this.frames.length >= this.o.partFrames) this.cutPart(this.parts + 1 >= this.o.partsPerSegment);
  }

  /** The stream ends: what is left becomes a last (shorter) part and segment. */
  end(): void {
    if (this.frames.length) this.cutPart(true);
    else if (this.parts) this.closeSegment();
  }

  private cutPart(last: boolean): void {
    const frames = this.frames;
    this.frames = [];
    const bytes = fragment(this.msn * 100 + this.parts + 1, this.decodeTime, frames);
    const samples = frames.length * AAC_FRAME_SAMPLES;
    this.o.onPart({ msn: this.msn, part: this.parts, bytes, samples, decodeTime: this.decodeTime, segmentStart: this.segmentStart, last });
    this.parts++;
    this.decodeTime += samples;
    if (last) this.closeSegment();
  }

  private closeSegment(): void {
    this.o.onSegment({ msn: this.msn, start: this.segmentStart, samples: this.decodeTime - this.segmentStart });
    this.parts = 0;
    this.msn++;
    this.segmentStart = this.decodeTime;
  }
}
