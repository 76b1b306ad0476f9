import { renderPlaylist, type PlaylistSegment } from '../../shared/hls-playlist';

export type { PlaylistSegment };

/**
 * The two playlists of a live recording, written only from segments already in S3: an EVENT
 * playlist holding every segment (VOD-like once ENDLIST is added) and a short sliding window for
 * live listeners, whose player then never asks for more than a few segments at the edge.
 */
export class HlsPlaylists {
  private readonly segments: PlaylistSegment[] = [];
  private readonly waiting = new Map<number, PlaylistSegment>();
  private nextSeq: number;

  constructor(
    private readonly targetSeconds: number,
    private readonly liveWindow: number,
    firstSeq = 0,
  ) {
    this.nextSeq = firstSeq;
  }

  /** The segments a resumed recording had already listed. */
  seed(list: readonly PlaylistSegment[]): void {
    this.segments.push(...list);
  }

  get count(): number {
    return this.segments.length;
  }

  get all(): readonly PlaylistSegment[] {
    return this.segments;
  }

  /** Records a segment now in S3; returns true when the listed set grew (contiguous sequence). */
  uploaded(s: PlaylistSegment): boolean {
    this.waiting.set(s.seq, s);
    let grew = false;
    while (this.waiting.has(this.nextSeq)) {
      this.segments.push(this.waiting.get(this.nextSeq)!);
      this.waiting.delete(this.nextSeq);
      this.nextSeq++;
      grew = true;
    }
    return grew;
  }

  event(ended: boolean): string {
    return this.render(this.segments, ended, ended ? 'VOD' : 'EVENT');
  }

  live(ended: boolean): string {
    return this.render(this.segments.slice(-this.liveWindow), ended, undefined);
  }

  private render(list: PlaylistSegment[], ended: boolean, type: 'EVENT' | 'VOD' | undefined): string {
    const first = list[0];
    const discontinuitiesBefore = first ? this.segments.filter((s) => s.seq < first.seq && s.discontinuity).length : 0;
    return renderPlaylist({ segments: list, discontinuitiesBefore, firstSeq: first?.seq ?? this.nextSeq, targetSeconds: this.targetSeconds, type, ended });
  }
}
