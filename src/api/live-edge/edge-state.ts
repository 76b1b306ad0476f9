import path from 'node:path';
import { rel } from '../../contracts/layout';
import type { EdgeMeta } from '../../contracts/live-edge';
import { type PlaylistPart, type PlaylistSegment, renderPlaylist, skipBoundary } from '../../shared/hls-playlist';

interface Segment extends PlaylistSegment {
  /** Durations of its parts (none for a segment known only from S3's playlist). */
  partDurations: number[];
  /** Its parts' bytes while it is recent (see KEEP_PART_BYTES). */
  parts?: Buffer[];
}

interface OpenSegment {
  seq: number;
  programDateTime: Date;
  discontinuity: boolean;
  parts: Buffer[];
  partDurations: number[];
}

/** A point of the stream: segment `msn` up to and including part `part`. */
export interface EdgePoint {
  msn: number;
  part: number;
}

/** Segments whose parts' bytes stay in memory (~2 s each): the edge and a little behind it. */
const KEEP_PART_BYTES = 8;
const RENDERED_KEEP = 64;
const base = (key: string) => path.basename(key);

export interface RenderRequest {
  /** The point the playlist ends at (a blocking reload's); the latest if absent. */
  at?: EdgePoint;
  /** A sliding window of this many segments (live.m3u8); all of them otherwise (index.m3u8). */
  window?: number;
  /** A delta update (_HLS_skip=YES): what is older than the skip boundary is left out. */
  skip?: boolean;
  uriQuery?: string;
}

/**
 * One recording's live edge as this api process knows it: the segments (from S3's playlist and
 * from the edge stream), the parts of the recent ones, the segment being cut. It changes only by
 * applying the stream's entries in order, and a playlist is rendered as of a point of the stream,
 * so every api process that read the same entries answers the same bytes for the same request.
 */
export class EdgeState {
  partTarget = 0.2;
  targetDuration = 2;
  init: Buffer | undefined;
  ended = false;
  /** Counts encoder runs seen: a blocked request across a resume is answered by the new run's first part. */
  run = 0;
  /** Parts the current run has cut so far. */
  partsThisRun = 0;
  private segments: Segment[] = [];
  private open: OpenSegment | null = null;
  private nextDiscontinuity = false;
  private readonly rendered = new Map<string, string>();

  /**
   * The segments S3's event playlist lists before the oldest one the stream still holds (read
   * once, after the stream's entries). If S3 is behind that (an outage), the playlist starts
   * where the stream does.
   */
  seed(list: readonly PlaylistSegment[]): void {
    const first = this.segments[0]?.seq ?? this.open?.seq;
    const before = list.filter((s) => first === undefined || s.seq < first).map((s) => ({ ...s, partDurations: [] }));
    if (first !== undefined && before[before.length - 1]?.seq !== first - 1) return;
    this.segments = [...before, ...this.segments];
  }

  get hasParts(): boolean {
    return this.run > 0;
  }

  /** The newest point: the last part cut (or the end of the last segment). */
  get latest(): EdgePoint | null {
    if (this.open?.parts.length) return { msn: this.open.seq, part: this.open.parts.length - 1 };
    const last = this.segments[this.segments.length - 1];
    return last ? { msn: last.seq, part: Math.max(0, last.partDurations.length - 1) } : null;
  }

  apply(meta: EdgeMeta, bytes: Buffer | undefined): void {
    if (meta.t === 'run') {
      this.run++;
      this.partsThisRun = 0;
      this.partTarget = meta.partTarget;
      this.targetDuration = meta.targetDuration;
      if (bytes) this.init = bytes;
      // A segment the earlier run had open but that S3 has (a hand-over: closed without a last part)
      // is whole; what it cut from firstMsn on never became a segment in S3: the new run cuts it anew.
      if (this.open && this.open.seq < meta.firstMsn) this.closeOpen();
      this.segments = this.segments.filter((s) => s.seq < meta.firstMsn);
      this.open = null;
      this.nextDiscontinuity = meta.discontinuity;
      this.ended = false;
      this.rendered.clear();
      return;
    }
    if (meta.t === 'end') {
      this.closeOpen();
      this.ended = true;
      return;
    }
    if (!bytes) return;
    if (this.run === 0) this.run = 1; // the stream was trimmed past its run entry
    this.partTarget = meta.partTarget;
    this.targetDuration = meta.targetDuration;
    if (!this.open || this.open.seq !== meta.msn) {
      if (meta.part !== 0) return; // the stream was trimmed mid-segment: wait for the next one
      this.closeOpen();
      const last = this.segments[this.segments.length - 1];
      if (last && last.seq !== meta.msn - 1) this.segments = []; // a hole: list from here on
      this.open = { seq: meta.msn, programDateTime: new Date(meta.segmentStartMs), discontinuity: this.nextDiscontinuity, parts: [], partDurations: [] };
      this.nextDiscontinuity = false;
    }
    if (meta.part !== this.open.parts.length) return;
    this.open.parts.push(bytes);
    this.open.partDurations.push(meta.duration);
    this.partsThisRun++;
    if (meta.last) this.closeOpen();
  }

  private closeOpen(): void {
    const o = this.open;
    this.open = null;
    if (!o?.parts.length) return;
    const duration = o.partDurations.reduce((a, b) => a + b, 0);
    this.segments.push({ seq: o.seq, uri: base(rel.hlsSegment(o.seq)), duration, programDateTime: o.programDateTime, discontinuity: o.discontinuity, partDurations: o.partDurations, parts: o.parts });
    for (let i = this.segments.length - 1 - KEEP_PART_BYTES; i >= 0 && this.segments[i].parts; i--) this.segments[i].parts = undefined;
  }

  /** Whether the stream has reached a point (the part exists, or its segment is whole). */
  reached(p: EdgePoint): boolean {
    if (this.open && p.msn === this.open.seq) return p.part < this.open.parts.length;
    if (this.open && p.msn > this.open.seq) return false;
    const last = this.segments[this.segments.length - 1];
    return !!last && p.msn <= last.seq;
  }

  /** Bytes of parts kept in memory. */
  get retainedBytes(): number {
    let n = 0;
    for (const s of this.segments.slice(-KEEP_PART_BYTES)) for (const p of s.parts ?? []) n += p.length;
    for (const p of this.open?.parts ?? []) n += p.length;
    return n + (this.init?.length ?? 0);
  }

  /** Whether segment `msn` is whole (a blocking reload with _HLS_msn alone waits for that). */
  wholeSegment(msn: number): boolean {
    const last = this.segments[this.segments.length - 1];
    return !!last && last.seq >= msn;
  }

  /** The point at the end of a whole segment. */
  endOf(msn: number): EdgePoint | undefined {
    const s = this.find(msn);
    return s ? { msn, part: Math.max(0, s.partDurations.length - 1) } : undefined;
  }

  /** A point as the playlist is cut at it: a part past a whole segment's last is the next segment's first. */
  normalize(p: EdgePoint): EdgePoint {
    const s = this.find(p.msn);
    if (s && s.partDurations.length && p.part >= s.partDurations.length) return { msn: p.msn + 1, part: p.part - s.partDurations.length };
    return p;
  }

  part(msn: number, part: number): Buffer | undefined {
    if (this.open?.seq === msn) return this.open.parts[part];
    return this.find(msn)?.parts?.[part];
  }

  /** A whole segment's bytes while its parts are in memory. */
  segment(msn: number): Buffer | undefined {
    const parts = this.find(msn)?.parts;
    return parts ? Buffer.concat(parts) : undefined;
  }

  private find(msn: number): Segment | undefined {
    const first = this.segments[0];
    if (!first) return undefined;
    const s = this.segments[msn - first.seq];
    return s?.seq === msn ? s : undefined;
  }

  /** The playlist as of a point (rendered once per point and kind: every listener at the edge asks for the same). */
  render(r: RenderRequest): string {
    const at = r.at && this.reached(r.at) ? r.at : this.latest;
    const key = `${at?.msn}:${at?.part}:${r.window ?? ''}:${r.skip ? 1 : 0}:${this.ended && !r.at ? 'end' : ''}:${r.uriQuery ?? ''}`;
    const hit = this.rendered.get(key);
    if (hit) return hit;
    const text = this.renderAt(at, r);
    if (this.rendered.size >= RENDERED_KEEP) this.rendered.delete(this.rendered.keys().next().value!);
    this.rendered.set(key, text);
    return text;
  }

  private renderAt(at: EdgePoint | null, r: RenderRequest): string {
    const ended = this.ended && !r.at;
    // Whole segments up to the point; the point's own segment is open unless the point is its last part.
    let whole = this.segments.filter((s) => !at || s.seq < at.msn || (s.seq === at.msn && (!s.partDurations.length || at.part >= s.partDurations.length - 1)));
    let open: { seq: number; parts: PlaylistPart[]; programDateTime?: Date; discontinuity: boolean } | null = null;
    const last = whole[whole.length - 1];
    if (at && (!last || last.seq < at.msn)) {
      const src = this.open?.seq === at.msn ? this.open : this.find(at.msn);
      if (src) open = { seq: at.msn, programDateTime: src.programDateTime, discontinuity: src.discontinuity, parts: src.partDurations.slice(0, at.part + 1).map((d, i) => ({ uri: base(rel.hlsPart(at.msn, i)), duration: d })) };
    }
    const nextSeq = open ? open.seq : (whole[whole.length - 1]?.seq ?? -1) + 1;
    const hint = ended ? null : base(rel.hlsPart(nextSeq, open ? open.parts.length : 0));
    // Only the hint of a segment not begun: its date and any discontinuity come with its first part.
    if (!open && hint) open = { seq: nextSeq, parts: [], discontinuity: false };
    // Parts are listed for the segments within three target durations of the end, and at most the
    // last two whole ones (with the open one, the last three segments: what validators allow).
    const parts = new Map<number, PlaylistPart[]>();
    let fromEnd = open ? open.parts.reduce((a, p) => a + p.duration, 0) : 0;
    for (let i = whole.length - 1; i >= Math.max(0, whole.length - 2); i--) {
      const s = whole[i];
      if (!s.partDurations.length || fromEnd + s.duration > 3 * this.targetDuration) break;
      parts.set(s.seq, s.partDurations.map((d, k) => ({ uri: base(rel.hlsPart(s.seq, k)), duration: d })));
      fromEnd += s.duration;
    }
    const all = whole;
    if (r.window) whole = whole.slice(-r.window);
    let skipped = 0;
    if (r.skip) {
      let tail = open ? open.parts.reduce((a, p) => a + p.duration, 0) : 0;
      let keep = 0;
      for (let i = whole.length - 1; i >= 0 && tail < skipBoundary(this.targetDuration); i--, keep++) tail += whole[i].duration;
      skipped = whole.length - keep;
      whole = whole.slice(skipped);
    }
    const firstSeq = whole.length ? whole[0].seq - skipped : nextSeq;
    const discontinuitiesBefore = all.filter((s) => s.seq < firstSeq && s.discontinuity).length;
    return renderPlaylist({
      segments: whole,
      discontinuitiesBefore,
      firstSeq,
      targetSeconds: this.targetDuration,
      type: r.window ? undefined : 'EVENT',
      ended,
      uriQuery: r.uriQuery,
      lowLatency: { partTarget: this.partTarget, parts, open: ended ? null : open, hint, skip: skipped },
    });
  }
}
