import {
  cacheControl,
  canRead,
  downloadKey,
  FILE_KINDS,
  fileKindOf,
  MIX_FORMATS,
  mixFormats,
  rel,
  requireFileKind,
  TRANSCRIPT_FORMATS,
  transcriptFormats,
  type Visibility,
} from '../../src/contracts/recording-files';
import { ReplayData, replayDownloads } from '../../src/contracts/replay-data';

const kindOf = (relKey: string) => fileKindOf(relKey)?.kind.name ?? null;
const byName = (name: string) => FILE_KINDS.find((k) => k.name === name)!;

test('every key a recording has maps to its kind', () => {
  const expected: Array<[string, string]> = [
    [rel.manifest, 'manifest'],
    [rel.eventPlaylist, 'hls.playlist'],
    [rel.livePlaylist, 'hls.playlist'],
    [rel.hlsSegment(7), 'hls.segment'],
    [rel.mixChunk(12), 'chunk.mix'],
    [rel.speakerChunk('ann', 3), 'chunk.speaker'],
    [rel.speakerFile('ann'), 'speaker.opus'],
    [rel.waveform, 'waveform'],
    [rel.speakerTimeline, 'speakerTimeline'],
    [rel.liveArchive, 'liveArchive'],
    [rel.liveWords('ann'), 'liveWords'],
    [rel.replayPage, 'replay.page'],
    [rel.replayData, 'replay.data'],
    [rel.replayAsset('replay.js'), 'replay.asset'],
    [rel.replayAsset('hls.min.js'), 'replay.asset'],
    ...mixFormats.map((e): [string, string] => [rel.mixArchive(e), `mix.${e}`]),
    ...transcriptFormats.map((e): [string, string] => [rel.transcript(e), `transcript.${e}`]),
  ];
  for (const [key, kind] of expected) expect({ key, kind: kindOf(key) }).toEqual({ key, kind });
  expect(rel.hlsSegment(7)).toBe('hls/seg_000007.m4s');
  expect(rel.hlsPart(7, 3)).toBe('hls/seg_000007.p3.m4s');
  expect(rel.speakerChunk('ann', 3)).toBe('speakers/ann/chunk_000003.flac');
});

test('keys outside the table are not recording files', () => {
  for (const key of ['', 'manifest.json.bak', 'hls/seg_1.ts', 'final/mix.wav', 'final/speakers/../x.opus', 'speakers/a/b/chunk_000001.flac', 'replay/evil.js', 'transcript/transcript.pdf', '../manifest.json']) {
    expect({ key, kind: kindOf(key) }).toEqual({ key, kind: null });
  }
  expect(() => requireFileKind('final/mix.wav')).toThrow(/not a recording file/);
});

test('content types come from the table, the replay assets by extension', () => {
  for (const e of mixFormats) expect(requireFileKind(rel.mixArchive(e)).contentType).toBe(MIX_FORMATS[e]);
  for (const e of transcriptFormats) expect(requireFileKind(rel.transcript(e)).contentType).toBe(TRANSCRIPT_FORMATS[e]);
  expect(requireFileKind(rel.replayAsset('replay.js')).contentType).toBe('text/javascript; charset=utf-8');
  expect(requireFileKind(rel.replayAsset('hls.min.js')).contentType).toBe('text/javascript; charset=utf-8');
  expect(requireFileKind(rel.replayAsset('replay.css')).contentType).toBe('text/css; charset=utf-8');
  expect(requireFileKind(rel.replayPage).contentType).toBe('text/html; charset=utf-8');
  expect(requireFileKind(rel.speakerFile('ann')).contentType).toBe('audio/ogg');
});

test('manifest.files ids are the ones the api reads', () => {
  const id = (key: string) => {
    const f = requireFileKind(key);
    return f.kind.fileId?.(f.match) ?? null;
  };
  expect(id(rel.mixArchive('opus'))).toBe('mix.opus');
  expect(id(rel.speakerFile('ann'))).toBe('speaker.ann');
  expect(id(rel.transcript('vtt'))).toBe('transcript.vtt');
  expect(id(rel.waveform)).toBe('waveform');
  expect(id(rel.speakerTimeline)).toBe('speakerTimeline');
  expect(id(rel.replayPage)).toBe('replay');
  expect(id(rel.replayData)).toBe('replay.data');
  expect(id(rel.replayAsset('replay.js'))).toBe('replay.replay.js');
  expect(id(rel.replayAsset('replay.css'))).toBe('replay.replay.css');
  expect(id(rel.replayAsset('hls.min.js'))).toBe('replay.hls');
  for (const key of [rel.manifest, rel.hlsSegment(0), rel.mixChunk(0), rel.liveArchive, rel.liveWords('ann')]) expect(id(key)).toBeNull();
});

test('Cache-Control: shared caches only for public rooms, never for host-only, internal or credentialed responses', () => {
  const cc = (name: string, visibility: Visibility, o?: { live?: boolean; credentialed?: boolean }) => cacheControl(byName(name), visibility, o);
  // Archive files: 5 minutes, shared only when the room is public.
  expect(cc('mix.opus', 'public')).toBe('public, max-age=300');
  expect(cc('mix.opus', 'private')).toBe('private, max-age=300');
  expect(cc('transcript.vtt', 'private')).toBe('private, max-age=300');
  // Raw per-speaker audio is for hosts: never in a shared cache, even for a public room.
  expect(cc('speaker.opus', 'public')).toBe('private, max-age=300');
  // Segments never change.
  expect(cc('hls.segment', 'public')).toBe('public, max-age=31536000, immutable');
  expect(cc('hls.segment', 'private')).toBe('private, max-age=31536000, immutable');
  // Playlists: a second while live, 5 minutes once ended.
  expect(cc('hls.playlist', 'public', { live: true })).toBe('public, max-age=1');
  expect(cc('hls.playlist', 'public', { live: false })).toBe('public, max-age=300');
  expect(cc('hls.playlist', 'public', { live: true, credentialed: true })).toBe('private, max-age=1');
  // Revalidated every time.
  expect(cc('manifest', 'public')).toBe('no-cache');
  expect(cc('manifest', 'private')).toBe('private, no-cache');
  expect(cc('replay.data', 'public')).toBe('no-cache');
  expect(cc('replay.page', 'private')).toBe('private, no-cache');
  expect(cc('liveArchive', 'public')).toBe('private, no-cache');
  expect(cc('liveWords', 'public')).toBe('private, no-cache');
  expect(cc('manifest', 'public', { credentialed: true })).toBe('private, no-store');
  expect(cc('replay.page', 'private', { credentialed: true })).toBe('private, no-store');
  // Internal chunks never leave the workers, whatever their age.
  expect(cc('chunk.mix', 'public')).toBe('private, max-age=31536000, immutable');
});

test('download names round trip to their keys; anything else is not a download', () => {
  const names = [
    ...mixFormats.map((e) => [`mix.${e}`, rel.mixArchive(e)]),
    ...transcriptFormats.map((e) => [`transcript.${e}`, rel.transcript(e)]),
    ['speakers/ann.opus', rel.speakerFile('ann')],
    ['speakers/b_0-x~y.opus', rel.speakerFile('b_0-x~y')],
  ];
  for (const [name, key] of names) {
    const d = downloadKey(name);
    expect({ name, key: d?.relKey }).toEqual({ name, key });
    expect(d!.file.kind.download!(d!.file.match)).toBe(name);
  }
  // Every kind with a download name answers to it.
  for (const key of [...mixFormats.map(rel.mixArchive), ...transcriptFormats.map(rel.transcript), rel.speakerFile('zed')]) {
    const f = requireFileKind(key);
    expect(downloadKey(f.kind.download!(f.match))?.relKey).toBe(key);
  }
  for (const name of ['manifest.json', 'mix.wav', 'speakers/../x.opus', 'speakers/a/b.opus', 'final/mix.opus', 'waveform', 'all.zip']) {
    expect({ name, d: downloadKey(name) }).toEqual({ name, d: null });
  }
});

test('who may read what', () => {
  expect(canRead('anyone', 'anonymous', 'private')).toBe(true);
  expect(canRead('listener', 'anonymous', 'public')).toBe(true);
  expect(canRead('listener', 'anonymous', 'private')).toBe(false);
  expect(canRead('listener', 'listener', 'private')).toBe(true);
  expect(canRead('host', 'listener', 'public')).toBe(false);
  expect(canRead('host', 'host', 'private')).toBe(true);
  expect(canRead('internal', 'host', 'public')).toBe(false);
});

test("the replay page's downloads come from the table: every mix format, speakers for hosts, transcripts when there are some", () => {
  const speakers = [{ key: 'ann', name: 'Ann' }, { key: 'ben', name: 'Ben' }];
  const without = replayDownloads({ speakers, transcript: false });
  expect(without.map((d) => d.label)).toEqual(['Mix (Opus)', 'Mix (M4A)', 'Mix (MP3)', 'Ann (Opus)', 'Ben (Opus)']);
  const all = replayDownloads({ speakers, transcript: true });
  expect(all).toHaveLength(mixFormats.length + speakers.length + transcriptFormats.length);
  expect(all.filter((d) => d.hostOnly).map((d) => d.href)).toEqual(['../final/speakers/ann.opus', '../final/speakers/ben.opus']);
  expect(all.find((d) => d.label === 'Transcript (WebVTT)')).toEqual({ label: 'Transcript (WebVTT)', href: '../transcript/transcript.vtt', type: 'text/vtt', hostOnly: false });
  expect(all.find((d) => d.label === 'Mix (MP3)')).toEqual({ label: 'Mix (MP3)', href: '../final/mix.mp3', type: 'audio/mpeg', hostOnly: false });
  for (const d of all) {
    // Every link is a recording file, relative to replay/index.html, and its type is the table's.
    const f = requireFileKind(d.href.replace(/^\.\.\//, ''));
    expect(f.contentType.startsWith(d.type)).toBe(true);
    expect(d.hostOnly).toBe(f.kind.audience === 'host');
  }
  // The contract accepts them.
  expect(() => ReplayData.shape.downloads.parse(all)).not.toThrow();
});
