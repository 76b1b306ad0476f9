import * as HLS from 'hls-parser';
import { rel } from '../contracts/layout';

/** A segment as playlists list it. */
export interface PlaylistSegment {
  seq: number;
  uri: string;
  duration: number;
  programDateTime: Date;
  /** First segment after a resumed recording. */
  discontinuity: boolean;
}

export interface PlaylistPart {
  uri: string;
  duration: number;
}

/** What makes a playlist low-latency (the api's live edge adds it; S3's playlists have none). */
export interface LowLatency {
  partTarget: number;
  /** Parts of the last complete segments (by seq): only those near the end are listed. */
  parts: Map<number, PlaylistPart[]>;
  /** The segment being cut: its seq and the parts it has so far. */
  open: { seq: number; parts: PlaylistPart[]; programDateTime?: Date; discontinuity: boolean } | null;
  /** The next part (EXT-X-PRELOAD-HINT), none once the stream has ended. */
  hint: string | null;
  /** Segments left out of a delta update (EXT-X-SKIP). */
  skip: number;
}

export interface RenderInput {
  /** The segments listed (a window, or all of them), in order. */
  segments: readonly PlaylistSegment[];
  /** Discontinuities before the first listed segment (EXT-X-DISCONTINUITY-SEQUENCE). */
  discontinuitiesBefore: number;
  /** Media sequence number of the first segment (after any skipped ones are counted in). */
  firstSeq: number;
  targetSeconds: number;
  type: 'EVENT' | 'VOD' | undefined;
  ended: boolean;
  lowLatency?: LowLatency;
  /** Appended to every URI (a private room's credentials for players that cannot send headers). */
  uriQuery?: string;
}

/** How far from the end a delta update may skip (≥ 6 target durations, RFC 8216bis 4.4.3.8). */
export const skipBoundary = (targetSeconds: number) => 6 * targetSeconds;
const INIT_URI = rel.hlsInit.slice('hls/'.length);

/**
 * An HLS media playlist of CMAF segments (one init segment), written with hls-parser: the S3
 * playlists (EVENT/VOD and the sliding window) and, with `lowLatency`, the api's LL-HLS playlists
 * (parts, preload hint, blocking reload and delta updates). One renderer, so both list the same
 * segments the same way.
 */
export function renderPlaylist(p: RenderInput): string {
  const q = (uri: string) => (p.uriQuery ? `${uri}${uri.includes('?') ? '&' : '?'}${p.uriQuery}` : uri);
  const map = new HLS.types.MediaInitializationSection({ uri: q(INIT_URI) });
  const ll = p.lowLatency;
  const part = (x: PlaylistPart) => new HLS.types.PartialSegment({ uri: q(x.uri), duration: round(x.duration), independent: true, hint: false });
  const segments = p.segments.map(
    (s) =>
      new HLS.types.Segment({
        uri: q(s.uri),
        duration: round(s.duration),
        mediaSequenceNumber: s.seq,
        discontinuity: s.discontinuity,
        programDateTime: s.programDateTime,
        map,
        parts: ll?.parts.get(s.seq)?.map(part) ?? [],
      }),
  );
  if (ll?.open && ll.hint) {
    const open = new HLS.types.Segment({
      uri: '',
      mediaSequenceNumber: ll.open.seq,
      discontinuity: ll.open.discontinuity,
      programDateTime: ll.open.programDateTime,
      map,
      parts: [...ll.open.parts.map(part), new HLS.types.PartialSegment({ uri: q(ll.hint), hint: true })],
    });
    segments.push(open);
  }
  const longest = Math.max(p.targetSeconds, ...p.segments.map((s) => s.duration));
  const targetDuration = Math.ceil(longest);
  const playlist = new HLS.types.MediaPlaylist({
    version: ll ? 9 : 7,
    targetDuration,
    mediaSequenceBase: p.firstSeq,
    discontinuitySequenceBase: p.discontinuitiesBefore,
    playlistType: p.type,
    endlist: p.ended,
    independentSegments: true,
    segments,
    ...(ll
      ? {
          partTargetDuration: round(ll.partTarget),
          // PART-HOLD-BACK ≥ 3 part targets; delta updates may skip what is 6 target durations back.
          lowLatencyCompatibility: { canBlockReload: true, canSkipUntil: skipBoundary(targetDuration), holdBack: undefined as unknown as number, partHoldBack: round(3 * ll.partTarget) },
          skip: ll.skip,
        }
      : {}),
  });
  return HLS.stringify(playlist);
}

const round = (x: number) => Math.round(x * 100_000) / 100_000;
