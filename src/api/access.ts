import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { TokenVerifier } from 'livekit-server-sdk';
import type { Config } from '../config';
import { HttpError } from './errors';

/**
 * Who a request is (see docs/ACCESS.md):
 * - host: a LiveKit token for the room with roomAdmin or roomRecord;
 * - listener: a LiveKit token for the room with roomJoin;
 * - link: a signed, expiring link a host made for this room (one recording, or the room);
 * - anonymous: nothing, or credentials for another room.
 * Credentials that do not verify (forged, expired, other secret) are refused outright (401).
 *
 * A room's name is reused by unrelated sessions ("standup" every morning), so a credential covers
 * only the recordings it was meant for: one that names a recording (a link's scope, a token's
 * `roomcast.recording` attribute) or a room session (`roomcast.session`: the room's SID) covers
 * that one; any other covers the sessions that ran while it was valid — from its not-before
 * (LiveKit's tokens set it when minted; a link's `nbf`) to its expiry. Yesterday's "standup" is not
 * today's host's.
 */
export type Role = 'host' | 'listener' | 'link' | 'anonymous';

/** A recording, as far as access is concerned. */
export interface RecordingRef {
  recordingId: string;
  roomSid?: string;
  startedAt: string;
  /** null while it records. */
  endedAt: string | null;
}

export interface Access {
  role: Role;
  subject?: string;
  /** True when credentials were given but are for another room or recording (403 rather than 401). */
  otherRoom: boolean;
  /** The credentials as a query string, for URLs handed back (playlists, pages): "" or "token=…". */
  query: string;
  /** The request carried credentials that verified: its responses are for this caller only. */
  credentialed: boolean;
  /** Whether these credentials reach this recording of the room (see above). */
  covers: (r: RecordingRef) => boolean;
}

export const LINK_ANY_RECORDING = '*';
/** Attributes of a LiveKit token that bind it to one recording or one room session. */
export const TOKEN_RECORDING_ATTRIBUTE = 'roomcast.recording';
export const TOKEN_SESSION_ATTRIBUTE = 'roomcast.session';
/**
 * Clock skew allowed between whoever mints tokens and the recorder's clock. Small on purpose: a
 * later session of the same name starts only after the earlier one has ended (LiveKit has one room
 * of a name at a time), so its tokens are minted after the earlier recording's end.
 */
export const TOKEN_CLOCK_SKEW_MS = 5_000;
const SKEW_MS = TOKEN_CLOCK_SKEW_MS;

/** What a request presents, verified once per request (rate limits and routes both ask). */
export type Credential =
  | { kind: 'none' }
  | { kind: 'invalid'; error: HttpError }
  | { kind: 'token'; claims: TokenClaims; token: string; inQuery: boolean }
  | { kind: 'link'; room: string; scope: string; exp: number; nbf: number; sig: string };

interface TokenClaims {
  sub?: string;
  nbf?: number;
  iat?: number;
  exp?: number;
  attributes?: Record<string, string>;
  video?: { room?: string; roomAdmin?: boolean; roomRecord?: boolean; roomJoin?: boolean };
}

const ANONYMOUS: Access = { role: 'anonymous', otherRoom: false, query: '', credentialed: false, covers: () => false };

/** The room a /v1/rooms/{room}/… path names (links are signed for a room). */
function roomOfPath(req: Request): string | undefined {
  const m = /^\/v1\/rooms\/([^/]+)/.exec(req.path);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return undefined;
  }
}

const windowCovers = (fromMs: number, untilMs: number, r: RecordingRef) =>
  Date.parse(r.startedAt) <= untilMs + SKEW_MS && (r.endedAt === null || Date.parse(r.endedAt) >= fromMs - SKEW_MS);

export function accessControl(cfg: Config) {
  const verifier = new TokenVerifier(cfg.LIVEKIT_API_KEY, cfg.LIVEKIT_API_SECRET);
  const sign = (room: string, scope: string, exp: number, nbf: number) =>
    createHmac('sha256', cfg.LINK_SIGNING_SECRET).update(`${room}\n${scope}\n${exp}\n${nbf}`).digest('base64url');
  const seen = new WeakMap<Request, Promise<Credential>>();

  /** A signed link's query for a room (and recording, or any recording of it), valid for ttlSeconds from now. */
  const signLink = (room: string, scope: string, ttlSeconds: number) => {
    const nbf = Math.floor(Date.now() / 1000);
    const exp = nbf + ttlSeconds;
    return { query: `exp=${exp}&nbf=${nbf}&sig=${sign(room, scope, exp, nbf)}&scope=${encodeURIComponent(scope)}`, expiresAt: new Date(exp * 1000) };
  };

  const read = async (req: Request): Promise<Credential> => {
    const q = req.query as Record<string, unknown>;
    const header = req.get('Authorization');
    const bearer = header !== undefined ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined;
    // Anything in the Authorization header that is not a bearer token, or an empty ?token=, is not
    // "no credentials": it is credentials that do not verify.
    if (header !== undefined && !bearer) return { kind: 'invalid', error: new HttpError(401, 'invalid_token', 'Authorization must be "Bearer <LiveKit token>"') };
    const token = bearer ?? (q.token !== undefined ? (typeof q.token === 'string' ? q.token : '') : undefined);
    if (token !== undefined) {
      try {
        const claims = (await verifier.verify(token)) as TokenClaims;
        return { kind: 'token', claims, token, inQuery: !bearer };
      } catch {
        return { kind: 'invalid', error: new HttpError(401, 'invalid_token', 'token does not verify or has expired') };
      }
    }
    if (q.sig !== undefined || q.exp !== undefined || q.scope !== undefined || q.nbf !== undefined) {
      const room = roomOfPath(req);
      const exp = Number(q.exp);
      const nbf = Number(q.nbf);
      const scope = typeof q.scope === 'string' ? q.scope : '';
      const sig = typeof q.sig === 'string' ? q.sig : '';
      const want = room !== undefined && Number.isInteger(exp) && Number.isInteger(nbf) && scope ? Buffer.from(sign(room, scope, exp, nbf)) : null;
      if (!want || sig.length !== want.length || !timingSafeEqual(Buffer.from(sig), want)) {
        return { kind: 'invalid', error: new HttpError(401, 'invalid_link', 'link signature does not verify') };
      }
      if (exp * 1000 < Date.now()) return { kind: 'invalid', error: new HttpError(401, 'link_expired', 'link has expired') };
      return { kind: 'link', room: room!, scope, exp, nbf, sig };
    }
    return { kind: 'none' };
  };

  /** The request's credentials, verified (once per request). */
  const identify = (req: Request): Promise<Credential> => {
    let c = seen.get(req);
    if (!c) seen.set(req, (c = read(req)));
    return c;
  };

  /** Who the caller is for one room; refuses (401) credentials that do not verify. */
  const resolve = async (req: Request, room: string): Promise<Access> => {
    const c = await identify(req);
    if (c.kind === 'invalid') throw c.error;
    if (c.kind === 'none') return ANONYMOUS;
    if (c.kind === 'link') {
      const query = `exp=${c.exp}&nbf=${c.nbf}&sig=${c.sig}&scope=${encodeURIComponent(c.scope)}`;
      const covers = (r: RecordingRef) => (c.scope === LINK_ANY_RECORDING ? windowCovers(c.nbf * 1000, c.exp * 1000, r) : c.scope === r.recordingId);
      return { role: 'link', otherRoom: false, query, credentialed: true, covers };
    }
    const v = c.claims.video;
    const query = c.inQuery ? `token=${encodeURIComponent(c.token)}` : '';
    const role: Role = !v || v.room !== room ? 'anonymous' : v.roomAdmin || v.roomRecord ? 'host' : v.roomJoin ? 'listener' : 'anonymous';
    if (role === 'anonymous') return { role, otherRoom: true, query, credentialed: true, covers: () => false };
    const attrs = c.claims.attributes ?? {};
    const namedRecording = attrs[TOKEN_RECORDING_ATTRIBUTE];
    const namedSession = attrs[TOKEN_SESSION_ATTRIBUTE];
    // A token without a not-before nor an issued-at covers what is live from now on only (fails closed).
    const fromMs = (c.claims.nbf ?? c.claims.iat ?? Date.now() / 1000) * 1000;
    const untilMs = (c.claims.exp ?? 0) * 1000;
    const covers = (r: RecordingRef) => {
      if (namedRecording !== undefined) return namedRecording === r.recordingId;
      if (namedSession !== undefined) return namedSession === r.roomSid;
      return windowCovers(fromMs, untilMs, r);
    };
    return { role, subject: c.claims.sub, otherRoom: false, query, credentialed: true, covers };
  };

  return { resolve, identify, signLink };
}

/** The caller's access narrowed to one recording: credentials that do not cover it count as another room's (403). */
export function scopeTo(a: Access, r: RecordingRef): Access {
  if (a.role === 'anonymous' || a.covers(r)) return a;
  return { ...a, role: 'anonymous', otherRoom: true };
}

/** Listening (live stream, replay page, mix and transcripts): anyone for a public room. */
export function requireListener(a: Access, visibility: 'public' | 'private'): void {
  if (visibility === 'public' || a.role !== 'anonymous') return;
  if (a.otherRoom) throw new HttpError(403, 'forbidden', 'these credentials are for another room or recording');
  throw new HttpError(401, 'unauthenticated', 'this room is private: a listener token or a signed link is required');
}

/** Hosts only: start/stop, raw per-speaker files, the zip, deletion, signed links. */
export function requireHost(a: Access): string {
  if (a.role === 'host') return a.subject ?? 'host';
  if (a.role === 'anonymous' && !a.otherRoom && !a.credentialed) throw new HttpError(401, 'unauthenticated', 'a host token is required (Authorization: Bearer <LiveKit token with roomAdmin or roomRecord>)');
  throw new HttpError(403, 'forbidden', 'a host token for this room (and this recording) is required');
}
