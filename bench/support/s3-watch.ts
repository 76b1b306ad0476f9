import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { rel } from '../../src/contracts/layout';
import { Manifest } from '../../src/contracts/manifest';

/** One recording under watch: where it lives in S3 and when its timeline starts. */
export interface RoomRec {
  room: string;
  index: number;
  prefix: string;
  /** Manifest startedAt: wall-clock ms of timeline position 0. */
  startedAtMs: number;
  segmentSeconds: number;
}

export interface SegSeen {
  seq: number;
  uri: string;
  /** EXT-X-PROGRAM-DATE-TIME (wall-clock ms of its first sample) and EXTINF (s). */
  pdtMs: number;
  durS: number;
  discontinuity: boolean;
  /** First poll whose live playlist listed it (time the response arrived). */
  listedAtMs: number;
  /** When a GET of the segment first returned it whole: = listedAtMs when that first GET worked. */
  readableAtMs?: number;
  /** Listed before a GET could read it (the playlist named a segment S3 lacked). */
  listedUnreadable?: boolean;
  bytes?: number;
}

export interface PlaylistEntry {
  seq: number;
  uri: string;
  pdtMs: number;
  durS: number;
  discontinuity: boolean;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** The segments of an HLS media playlist as roomcast writes it (hls-parser output). */
export function parsePlaylist(text: string): PlaylistEntry[] {
  const out: PlaylistEntry[] = [];
  let pdt: number | undefined;
  let dur = 0;
  let disc = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) pdt = Date.parse(line.slice(25));
    else if (line.startsWith('#EXTINF:')) dur = parseFloat(line.slice(8));
    else if (line === '#EXT-X-DISCONTINUITY') disc = true;
    else if (line && !line.startsWith('#')) {
      const m = /(\d+)\.(?:ts|m4s)$/.exec(line); // MPEG-TS before LL-HLS, CMAF since
      const prev = out[out.length - 1];
      const at = pdt ?? (prev ? prev.pdtMs + prev.durS * 1000 : NaN);
      if (m) out.push({ seq: Number(m[1]), uri: line, pdtMs: at, durS: dur, discontinuity: disc });
      pdt = undefined;
      disc = false;
    }
  }
  return out;
}

export async function getText(s3: S3Client, bucket: string, key: string): Promise<string | null> {
  try {
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await r.Body!.transformToString();
  } catch {
    return null;
  }
}

export async function readManifest(s3: S3Client, bucket: string, prefix: string): Promise<Manifest | null> {
  const t = await getText(s3, bucket, prefix + rel.manifest);
  return t ? Manifest.parse(JSON.parse(t)) : null;
}

export async function waitManifest(s3: S3Client, bucket: string, prefix: string, until: (m: Manifest) => boolean, timeoutMs: number): Promise<Manifest> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const m = await readManifest(s3, bucket, prefix).catch(() => null);
    if (m && until(m)) return m;
    if (Date.now() > end) throw new Error(`manifest of ${prefix} not as expected after ${timeoutMs} ms (${m ? m.status : 'none'})`);
    await sleep(200);
  }
}

/**
 * Polls each room's live playlist in S3 every `intervalMs` (presigned URLs, signed once, so the
 * poller itself stays light) and GETs each segment the first time it is listed.
 */
export class S3Watch {
  readonly segs = new Map<string, Map<number, SegSeen>>();
  polls = 0;
  pollErrors = 0;
  private running = false;
  private loops: Array<Promise<void>> = [];

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly intervalMs = 100,
  ) {}

  private url(key: string): Promise<string> {
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: 3600 });
  }

  start(rooms: RoomRec[]): void {
    this.running = true;
    for (const r of rooms) {
      this.segs.set(r.room, new Map());
      this.loops.push(this.watch(r));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  private async watch(r: RoomRec): Promise<void> {
    const seen = this.segs.get(r.room)!;
    const live = await this.url(r.prefix + rel.livePlaylist);
    let next = Date.now();
    while (this.running) {
      next += this.intervalMs;
      this.polls++;
      try {
        const res = await fetch(live);
        const text = await res.text();
        const at = Date.now();
        if (res.ok) {
          for (const e of parsePlaylist(text)) {
            if (seen.has(e.seq)) continue;
            const s: SegSeen = { ...e, listedAtMs: at };
            seen.set(e.seq, s);
            void this.confirm(r, s);
          }
        } else if (res.status !== 404) this.pollErrors++;
      } catch {
        this.pollErrors++;
      }
      await sleep(next - Date.now());
      if (Date.now() > next + this.intervalMs) next = Date.now(); // fell behind: do not burst
    }
  }

  /** GETs a newly listed segment until it reads whole (it should at once). */
  private async confirm(r: RoomRec, s: SegSeen): Promise<void> {
    const url = await this.url(r.prefix + 'hls/' + s.uri);
    for (let i = 0; i < 100; i++) {
      try {
        const res = await fetch(url);
        const body = await res.arrayBuffer();
        if (res.ok && body.byteLength > 0) {
          s.readableAtMs = i === 0 ? s.listedAtMs : Date.now();
          s.bytes = body.byteLength;
          return;
        }
      } catch {
        // retried below
      }
      s.listedUnreadable = true;
      await sleep(100);
    }
  }

  /** The segments of the room's final (event) playlist. */
  async finalPlaylist(r: RoomRec): Promise<PlaylistEntry[]> {
    const t = await getText(this.s3, this.bucket, r.prefix + rel.eventPlaylist);
    return t ? parsePlaylist(t) : [];
  }
}
