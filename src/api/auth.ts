import type { Request } from 'express';
import { TokenVerifier } from 'livekit-server-sdk';
import type { Config } from '../config';
import { HttpError } from './errors';

/** Hosts prove who they are with a LiveKit access token (roomAdmin or roomRecord for the room). */
export function hostAuth(cfg: Config) {
  const verifier = new TokenVerifier(cfg.LIVEKIT_API_KEY, cfg.LIVEKIT_API_SECRET);
  return async (req: Request, room: string): Promise<string> => {
    const header = req.get('Authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new HttpError(401, 'unauthenticated', 'a host token is required (Authorization: Bearer <LiveKit token>)');
    let claims;
    try {
      claims = await verifier.verify(m[1]);
    } catch {
      throw new HttpError(401, 'invalid_token', 'token does not verify or has expired');
    }
    const v = claims.video;
    if (!v || v.room !== room || !(v.roomAdmin || v.roomRecord)) {
      throw new HttpError(403, 'forbidden', 'token does not allow recording this room');
    }
    return claims.sub ?? 'host';
  };
}
