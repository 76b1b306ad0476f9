import type express from 'express';
import { z } from 'zod';
import { rel } from '../../contracts/layout';
import { PERSONAL_CACHE, type FileMatch } from '../../contracts/recording-files';
import { HttpError } from '../errors';
import type { ApiDeps, RecordingContext } from '../recording-context';
import type { EdgePoint, EdgeState } from './edge-state';

/**
 * How long a blocking reload or a hinted part is held at most. Longer than RFC 8216bis's three
 * target durations on purpose: a recording resumed after its ingest died has no parts for ~5–8 s,
 * and a request held across that gap is answered by the new run's first part, not with an error.
 */
export const EDGE_HOLD_MS = 12_000;

const Index = z.coerce.number().int().min(0).max(1e9);
const LlQuery = z
  .object({ _HLS_msn: Index.optional(), _HLS_part: Index.optional(), _HLS_skip: z.enum(['YES', 'v2']).optional() })
  .passthrough()
  .refine((q) => q._HLS_part === undefined || q._HLS_msn !== undefined, { message: '_HLS_part needs _HLS_msn' });


/**
 * A live recording's HLS from this process's live edge (see edge-relay.ts): LL-HLS playlists with
 * blocking reload and delta updates, parts, and recent segments from memory. Returns false when
 * the edge has nothing for it (no edge stream, a segment already gone from memory): S3 serves it.
 */
export async function serveFromEdge(deps: ApiDeps, r: RecordingContext, relKey: string, file: FileMatch, req: express.Request, res: express.Response, cacheControl: string): Promise<boolean> {
  if (!deps.edge) return false;
  let state = await deps.edge.state(r.prefix, r.recordingId);
  // A recording that has just started has no edge stream until its encoder's first frame: a player
  // that asks for the playlist then waits for it (S3 has no playlist yet either: a 404 makes
  // players back off for seconds).
  for (const until = Date.now() + EDGE_HOLD_MS; !state && file.kind.name === 'hls.playlist' && !r.manifest.hls.segments && Date.now() < until; ) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    state = await deps.edge.state(r.prefix, r.recordingId);
  }
  if (!state) {
    if (file.kind.name === 'hls.part') throw new HttpError(404, 'not_found', 'no such part');
    return false;
  }
  const uriQuery = r.manifest.visibility === 'private' && r.access.query ? r.access.query : undefined;
  const send = (type: string, body: Buffer | string, cache = cacheControl) => {
    res.status(200).set({ 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), 'Cache-Control': uriQuery ? PERSONAL_CACHE : cache });
    res.end(body);
    return true;
  };
  if (relKey === rel.eventPlaylist || relKey === rel.livePlaylist) {
    const q = LlQuery.safeParse(req.query);
    if (!q.success) throw new HttpError(400, 'invalid_parameter', q.error.issues[0]?.message ?? 'bad _HLS_ parameters');
    const window = relKey === rel.livePlaylist ? deps.cfg.HLS_LIVE_WINDOW : undefined;
    const skip = !!q.data._HLS_skip;
    const msn = q.data._HLS_msn;
    let at: EdgePoint | undefined;
    // A stream with no part yet: the first playlist waits for one (an empty one makes players give up).
    if (msn === undefined && !state.latest) await deps.edge.until(r.recordingId, (s) => !!s.latest, EDGE_HOLD_MS);
    if (msn !== undefined) {
      const latest = state.latest;
      // RFC 8216bis 6.2.5.2: a request more than two segments ahead of the playlist is refused.
      if (latest && msn > latest.msn + 2) throw new HttpError(400, 'invalid_parameter', `_HLS_msn ${msn} is more than two segments past the last (${latest.msn})`);
      const part = q.data._HLS_part;
      const ready = (s: EdgeState) => (part === undefined ? s.wholeSegment(msn) : s.reached(s.normalize({ msn, part })));
      if (await deps.edge.until(r.recordingId, ready, EDGE_HOLD_MS)) at = part === undefined ? state.endOf(msn) : state.normalize({ msn, part });
    }
    return send(file.contentType, state.render({ at, window, skip, uriQuery }));
  }
  if (relKey === rel.hlsInit) return state.init ? send(file.contentType, state.init) : false;
  // Segment and part numbers come from the table's own patterns (contracts/recording-files.ts).
  if (file.kind.name === 'hls.segment') {
    const bytes = state.segment(Number(file.match[1]));
    return bytes ? send(file.contentType, bytes) : false;
  }
  if (file.kind.name === 'hls.part') {
    const point = { msn: Number(file.match[1]), part: Number(file.match[2]) };
    let bytes = state.part(point.msn, point.part);
    // The preload hint's part (the next one): held until it exists, as LL-HLS players expect.
    const next = state.latest;
    if (!bytes && next && isNext(point, next) && (await deps.edge.until(r.recordingId, (s) => !!s.part(point.msn, point.part), EDGE_HOLD_MS))) bytes = state.part(point.msn, point.part);
    if (!bytes) throw new HttpError(404, 'not_found', 'no such part (yet)');
    return send(file.contentType, bytes);
  }
  return false;
}

/** The part right after `latest` (in its segment, or the next segment's first). */
const isNext = (p: EdgePoint, latest: EdgePoint) => (p.msn === latest.msn && p.part === latest.part + 1) || (p.msn === latest.msn + 1 && p.part === 0);
