import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { TokenVerifier } from 'livekit-server-sdk';
import type { Config } from '../config';
import { HttpError } from './errors';

/**
 * Who a request is, for one room (see docs/ACCESS.md):
 * - host: a LiveKit token for the room with roomAdmin or roomRecord;
 * - listener: a LiveKit token for the room with roomJoin;
 * - link: a signed, expiring link a host made for this room (one recording, or any);
 * - anonymous: nothing, or credentials for another room.
 * Credentials that do not verify (forged, expired, other secret) are refused outright (401).
 */
export type Role = 'host' | 'listener' | 'link' | 'anonymous';

export interface Access {
  role: Role;
  subject?: string;
  /** True when credentials were given but are for another room (403 rather than 401). */
  otherRoom: boolean;
  /** The credentials as a query string, for URLs handed back (playlists, pages): "" or "token=…". */
  query: string;
}

export const LINK_ANY_RECORDING = '*';

export function accessControl(cfg: Config) {
  const verifier = new TokenVerifier(cfg.LIVEKIT_API_KEY, cfg.LIVEKIT_API_SECRET);
  const sign = (room: string, recordingId: string, exp: number) =>
    createHmac('sha256', cfg.LINK_SIGNING_SECRET).update(`${room}\n${recordingId}\n${exp}`).digest('base64url');

  /** A signed link's query for a room (and recording, or any recording of it), valid for ttlSeconds. */
  const signLink = (room: string, recordingId: string, ttlSeconds: number) => {
    const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
    return { query: `exp=${exp}&sig=${sign(room, recordingId, exp)}&scope=${encodeURIComponent(recordingId)}`, expiresAt: new Date(exp * 1000) };
  };

  const resolve = async (req: Request, room: string, recordingId?: string): Promise<Access> => {
    const q = req.query as Record<string, unknown>;
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.get('Authorization') ?? '')?.[1];
    const token = bearer ?? (typeof q.token === 'string' ? q.token : undefined);
    if (token) {
      let claims;
      try {
        claims = await verifier.verify(token);
      } catch {
        throw new HttpError(401, 'invalid_token', 'token does not verify or has expired');
      }
      const v = claims.video;
      const query = bearer ? '' : `token=${encodeURIComponent(token)}`;
      if (!v || v.room !== room) return { role: 'anonymous', otherRoom: true, query };
      if (v.roomAdmin || v.roomRecord) return { role: 'host', subject: claims.sub, otherRoom: false, query };
      if (v.roomJoin) return { role: 'listener', subject: claims.sub, otherRoom: false, query };
      return { role: 'anonymous', otherRoom: true, query };
    }
    if (q.sig !== undefined || q.exp !== undefined) {
      const exp = Number(q.exp);
      const scope = typeof q.scope === 'string' ? q.scope : '';
      const sig = typeof q.sig === 'string' ? q.sig : '';
      const want = Buffer.from(sign(room, scope, exp));
      if (!Number.isInteger(exp) || !scope || sig.length !== want.length || !timingSafeEqual(Buffer.from(sig), want)) {
        throw new HttpError(401, 'invalid_link', 'link signature does not verify');
      }
      if (exp * 1000 < Date.now()) throw new HttpError(401, 'link_expired', 'link has expired');
      const query = `exp=${exp}&sig=${sig}&scope=${encodeURIComponent(scope)}`;
      if (scope !== LINK_ANY_RECORDING && scope !== recordingId) return { role: 'anonymous', otherRoom: true, query };
      return { role: 'link', otherRoom: false, query };
    }
    return { role: 'anonymous', otherRoom: false, query: '' };
  };

  return { resolve, signLink };
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
  if (a.role === 'anonymous' && !a.otherRoom) throw new HttpError(401, 'unauthenticated', 'a host token is required (Authorization: Bearer <LiveKit token with roomAdmin or roomRecord>)');
  throw new HttpError(403, 'forbidden', 'a host token for this room is required');
}
