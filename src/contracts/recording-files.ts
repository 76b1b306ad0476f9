/**
 * Every object a recording has, in one table: its key, content type, who may read it, how long
 * caches may keep it (per visibility) and which stage writes it. The api's routes, OpenAPI, the
 * zip, the recording view, the replay page's downloads, the workers' puts, the ingest's uploads
 * and spool recovery all read it: a new archive format is a row here (and its encoder).
 */
export type Visibility = 'public' | 'private';

/**
 * Who may read an object through the api:
 * - anyone: whatever the room's visibility (the replay page's static code);
 * - listener: anyone for a public room, a listener/link/host of a private one;
 * - host: hosts of the room only (raw per-speaker audio), whatever the visibility;
 * - internal: never served (lossless chunks, job state): only the workers read it.
 */
export type Audience = 'anyone' | 'listener' | 'host' | 'internal';
export type Writer = 'ingest' | 'live-archive' | 'finalize' | 'live-transcribe' | 'transcribe' | 'publish';

const pad = (n: number) => String(n).padStart(6, '0');

/** The mix's archive formats, in the order they are offered. */
export const MIX_FORMATS = { opus: 'audio/ogg', m4a: 'audio/mp4', mp3: 'audio/mpeg' } as const;
export type MixFormat = keyof typeof MIX_FORMATS;
export const TRANSCRIPT_FORMATS = {
  json: 'application/json',
  vtt: 'text/vtt; charset=utf-8',
  srt: 'application/x-subrip; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
} as const;
export type TranscriptFormat = keyof typeof TRANSCRIPT_FORMATS;
/** How people call each format (download labels). */
export const FORMAT_NAMES: Record<MixFormat | TranscriptFormat, string> = { opus: 'Opus', m4a: 'M4A', mp3: 'MP3', json: 'JSON', vtt: 'WebVTT', srt: 'SRT', txt: 'text' };
export const mixFormats = Object.keys(MIX_FORMATS) as MixFormat[];
export const transcriptFormats = Object.keys(TRANSCRIPT_FORMATS) as TranscriptFormat[];

/** Keys relative to a recording's prefix. */
export const rel = {
  manifest: 'manifest.json',
  eventPlaylist: 'hls/index.m3u8',
  livePlaylist: 'hls/live.m3u8',
  hlsInit: 'hls/init.mp4',
  hlsSegment: (seq: number) => `hls/seg_${pad(seq)}.m4s`,
  /** A part of a segment (LL-HLS): served from the api's live edge, never stored in S3. */
  hlsPart: (seq: number, part: number) => `hls/seg_${pad(seq)}.p${part}.m4s`,
  mixChunk: (index: number) => `mix/chunk_${pad(index)}.flac`,
  mixArchive: (ext: MixFormat) => `final/mix.${ext}`,
  speakerFile: (speakerKey: string) => `final/speakers/${speakerKey}.opus`,
  waveform: 'final/waveform.json',
  speakerTimeline: 'final/speakers.json',
  liveArchive: 'final/live-archive.json',
  transcript: (ext: TranscriptFormat) => `transcript/transcript.${ext}`,
  liveWords: (speakerKey: string) => `transcript/live/${speakerKey}.json`,
  replayPage: 'replay/index.html',
  replayData: 'replay/data.json',
  replayAsset: (name: 'replay.js' | 'replay.css' | 'hls.min.js') => `replay/${name}`,
  speakerChunk: (speakerKey: string, index: number) => `speakers/${speakerKey}/chunk_${pad(index)}.flac`,
};

/** A speaker's key in file names (safeKey's output, bounded). */
const SPEAKER_KEY = '[A-Za-z0-9_~.-]{1,64}';

export interface FileKind {
  /** Stable name (metrics, logs, tests). */
  name: string;
  /** Relative key of the objects of this kind. */
  pattern: RegExp;
  contentType: string;
  audience: Audience;
  /** Stages that write it. */
  writers: readonly Writer[];
  /** Seconds a cache may keep it, given whether the recording is still live; 0: revalidate every time. */
  maxAge: (live: boolean) => number;
  /** Listed in manifest.files under this id (a function of the key's match). */
  fileId?: (m: RegExpExecArray) => string;
  /** Offered as GET …/download/{name} (a function of the key's match). */
  download?: (m: RegExpExecArray) => string;
  /** In the host's zip under this name. */
  zip?: (m: RegExpExecArray) => string;
}

const YEAR = 31_536_000;
const PLAYLIST = 'application/vnd.apple.mpegurl';
const alt = (xs: readonly string[]) => xs.map((x) => x.replace(/[.]/g, '\\.')).join('|');

export const FILE_KINDS: readonly FileKind[] = [
  { name: 'manifest', pattern: /^manifest\.json$/, contentType: 'application/json', audience: 'listener', writers: ['ingest'], maxAge: () => 0 },
  { name: 'hls.playlist', pattern: /^hls\/(index|live)\.m3u8$/, contentType: PLAYLIST, audience: 'listener', writers: ['ingest'], maxAge: (live) => (live ? 1 : 300) },
  { name: 'hls.init', pattern: /^hls\/init\.mp4$/, contentType: 'audio/mp4', audience: 'listener', writers: ['ingest'], maxAge: () => YEAR },
  { name: 'hls.segment', pattern: /^hls\/seg_(\d{6})\.m4s$/, contentType: 'audio/mp4', audience: 'listener', writers: ['ingest'], maxAge: () => YEAR },
  // A part exists only at the live edge; after a crash the resumed run may cut the same name anew.
  { name: 'hls.part', pattern: /^hls\/seg_(\d{6})\.p(\d{1,2})\.m4s$/, contentType: 'audio/mp4', audience: 'listener', writers: ['ingest'], maxAge: () => 60 },
  { name: 'chunk.mix', pattern: /^mix\/chunk_\d{6}\.flac$/, contentType: 'audio/flac', audience: 'internal', writers: ['ingest'], maxAge: () => YEAR },
  { name: 'chunk.speaker', pattern: new RegExp(`^speakers/${SPEAKER_KEY}/chunk_\\d{6}\\.flac$`), contentType: 'audio/flac', audience: 'internal', writers: ['ingest'], maxAge: () => YEAR },
  ...mixFormats.map((ext): FileKind => ({
    name: `mix.${ext}`,
    pattern: new RegExp(`^final/mix\\.${ext}$`),
    contentType: MIX_FORMATS[ext],
    audience: 'listener',
    writers: ['live-archive', 'finalize'],
    maxAge: () => 300,
    fileId: () => `mix.${ext}`,
    download: () => `mix.${ext}`,
  })),
  {
    name: 'speaker.opus',
    pattern: new RegExp(`^final/speakers/(${SPEAKER_KEY})\\.opus$`),
    contentType: 'audio/ogg',
    audience: 'host',
    writers: ['live-archive', 'finalize'],
    maxAge: () => 300,
    fileId: (m) => `speaker.${m[1]}`,
    download: (m) => `speakers/${m[1]}.opus`,
    zip: (m) => `speakers/${m[1]}.opus`,
  },
  { name: 'waveform', pattern: /^final\/waveform\.json$/, contentType: 'application/json', audience: 'listener', writers: ['live-archive', 'finalize'], maxAge: () => 300, fileId: () => 'waveform' },
  { name: 'speakerTimeline', pattern: /^final\/speakers\.json$/, contentType: 'application/json', audience: 'listener', writers: ['live-archive', 'finalize'], maxAge: () => 300, fileId: () => 'speakerTimeline' },
  { name: 'liveArchive', pattern: /^final\/live-archive\.json$/, contentType: 'application/json', audience: 'internal', writers: ['live-archive'], maxAge: () => 0 },
  ...transcriptFormats.map((ext): FileKind => ({
    name: `transcript.${ext}`,
    pattern: new RegExp(`^transcript/transcript\\.${ext}$`),
    contentType: TRANSCRIPT_FORMATS[ext],
    audience: 'listener',
    writers: ['transcribe'],
    maxAge: () => 300,
    fileId: () => `transcript.${ext}`,
    download: () => `transcript.${ext}`,
    zip: () => `transcript.${ext}`,
  })),
  { name: 'liveWords', pattern: new RegExp(`^transcript/live/${SPEAKER_KEY}\\.json$`), contentType: 'application/json', audience: 'internal', writers: ['live-transcribe'], maxAge: () => 0 },
  { name: 'replay.page', pattern: /^replay\/index\.html$/, contentType: 'text/html; charset=utf-8', audience: 'listener', writers: ['publish'], maxAge: () => 0, fileId: () => 'replay' },
  { name: 'replay.data', pattern: /^replay\/data\.json$/, contentType: 'application/json', audience: 'listener', writers: ['publish'], maxAge: () => 0, fileId: () => 'replay.data' },
  {
    name: 'replay.asset',
    pattern: new RegExp(`^replay/(${alt(['replay.js', 'replay.css', 'hls.min.js'])})$`),
    contentType: 'application/octet-stream',
    audience: 'anyone',
    writers: ['publish'],
    maxAge: () => 300,
    fileId: (m) => (m[1] === 'hls.min.js' ? 'replay.hls' : `replay.${m[1]}`),
  },
];

const ASSET_TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };

export interface FileMatch {
  kind: FileKind;
  match: RegExpExecArray;
  contentType: string;
}

/** The kind of a relative key (null: not an object a recording has). */
export function fileKindOf(relKey: string): FileMatch | null {
  for (const kind of FILE_KINDS) {
    const match = kind.pattern.exec(relKey);
    if (match) {
      const ext = relKey.slice(relKey.lastIndexOf('.'));
      return { kind, match, contentType: kind.name === 'replay.asset' ? ASSET_TYPES[ext] ?? kind.contentType : kind.contentType };
    }
  }
  return null;
}

/** The kind of a relative key, or a thrown error: writing an object the table does not know is a bug. */
export function requireFileKind(relKey: string): FileMatch {
  const m = fileKindOf(relKey);
  if (!m) throw new Error(`not a recording file: ${relKey}`);
  return m;
}

/** A download name (GET …/download/{name}) → the object's relative key and kind. */
export function downloadKey(name: string): { relKey: string; file: FileMatch } | null {
  const candidates = [
    ...mixFormats.map((e) => rel.mixArchive(e)),
    ...transcriptFormats.map((e) => rel.transcript(e)),
  ];
  const speaker = new RegExp(`^speakers/(${SPEAKER_KEY})\\.opus$`).exec(name);
  if (speaker) candidates.push(rel.speakerFile(speaker[1]));
  for (const relKey of candidates) {
    const file = fileKindOf(relKey);
    if (file?.kind.download?.(file.match) === name) return { relKey, file };
  }
  return null;
}

/** For an answer that carries or depends on the caller's credentials: no cache but the caller's, and not kept. */
export const PERSONAL_CACHE = 'private, no-store';

/** An api answer (listings, status, pages): `shared` for anonymous callers, the caller's alone otherwise. */
export const callerCache = (credentialed: boolean, shared: string) => (credentialed ? PERSONAL_CACHE : shared);

/**
 * Cache-Control of an object for a room's visibility. `credentialed`: the response depends on or
 * carries the caller's credentials, so no shared cache may keep it (a CDN that keys on the path
 * would hand it to everyone).
 */
export function cacheControl(kind: FileKind, visibility: Visibility, o: { live?: boolean; credentialed?: boolean } = {}): string {
  const maxAge = kind.maxAge(!!o.live);
  const shared = visibility === 'public' && kind.audience !== 'host' && kind.audience !== 'internal' && !o.credentialed;
  if (o.credentialed && maxAge === 0) return PERSONAL_CACHE;
  if (maxAge === 0) return shared ? 'no-cache' : 'private, no-cache';
  return `${shared ? 'public' : 'private'}, max-age=${maxAge}${maxAge === YEAR ? ', immutable' : ''}`;
}

/** What a reader may see of a kind, given the room's visibility. */
export function canRead(audience: Audience, role: 'host' | 'listener' | 'anonymous', visibility: Visibility): boolean {
  switch (audience) {
    case 'anyone':
      return true;
    case 'listener':
      return visibility === 'public' || role !== 'anonymous';
    case 'host':
      return role === 'host';
    case 'internal':
      return false;
  }
}
