import * as HLS from 'hls-parser';
import { HlsPlaylists } from '../../src/ingest/outputs/playlists';

const seg = (seq: number, discontinuity = false) => ({
  seq,
  uri: `seg_${String(seq).padStart(6, '0')}.m4s`,
  duration: 2.0053,
  programDateTime: new Date(Date.UTC(2026, 0, 1, 0, 0, seq * 2)),
  discontinuity,
});

test('only a contiguous run of uploaded segments is listed', () => {
  const p = new HlsPlaylists(2, 3);
  expect(p.uploaded(seg(1))).toBe(false); // 0 is not in S3 yet
  expect(p.count).toBe(0);
  expect(p.uploaded(seg(0))).toBe(true);
  expect(p.count).toBe(2);
});

test('the event playlist becomes VOD with ENDLIST; the live one slides', () => {
  const p = new HlsPlaylists(2, 3);
  for (let i = 0; i < 5; i++) p.uploaded(seg(i, i === 3));
  const live = HLS.parse(p.live(false)) as HLS.types.MediaPlaylist;
  expect(live.mediaSequenceBase).toBe(2);
  expect(live.segments.map((s) => s.uri)).toEqual(['seg_000002.m4s', 'seg_000003.m4s', 'seg_000004.m4s']);
  expect(live.endlist).toBe(false);
  expect(live.segments[1].discontinuity).toBe(true);
  const vod = HLS.parse(p.event(true)) as HLS.types.MediaPlaylist;
  expect(vod.playlistType).toBe('VOD');
  expect(vod.endlist).toBe(true);
  expect(vod.segments).toHaveLength(5);
  expect(vod.segments[0].programDateTime?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
  const later = HLS.parse(new HlsPlaylists(2, 1).live(false)) as HLS.types.MediaPlaylist;
  expect(later.segments).toHaveLength(0);
});

test('a sliding window past a discontinuity counts it in EXT-X-DISCONTINUITY-SEQUENCE', () => {
  const p = new HlsPlaylists(2, 2);
  for (let i = 0; i < 6; i++) p.uploaded(seg(i, i === 1));
  expect(p.live(false)).toContain('#EXT-X-DISCONTINUITY-SEQUENCE:1');
});
