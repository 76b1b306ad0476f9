import { createHmac } from 'node:crypto';
import { AccessToken } from 'livekit-server-sdk';
import { TOKEN_RECORDING_ATTRIBUTE, TOKEN_SESSION_ATTRIBUTE } from '../../src/api/access';

/**
 * Real LiveKit tokens for the tests' roles (a negative ttl makes an expired one). A token covers
 * the room sessions that ran while it was valid, unless it names a recording or a session (see
 * src/api/access.ts): a test that reads a finished recording with a token minted afterwards names it.
 */
export async function livekitToken(
  env: Record<string, string>,
  room: string,
  grants: Record<string, unknown>,
  o: { secret?: string; ttl?: string | number; identity?: string; recording?: string; session?: string } = {},
): Promise<string> {
  const at = new AccessToken(env.LIVEKIT_API_KEY, o.secret ?? env.LIVEKIT_API_SECRET, { identity: o.identity ?? 'someone', ttl: o.ttl ?? '10m' });
  at.addGrant({ room, ...grants });
  if (o.recording) at.attributes = { ...at.attributes, [TOKEN_RECORDING_ATTRIBUTE]: o.recording };
  if (o.session) at.attributes = { ...at.attributes, [TOKEN_SESSION_ATTRIBUTE]: o.session };
  return at.toJwt();
}

/** A signed link's query made the way the api makes them (for expired or forged variants). */
export function signedQuery(secret: string, room: string, scope: string, exp: number, nbf = exp - 600): string {
  const sig = createHmac('sha256', secret).update(`${room}\n${scope}\n${exp}\n${nbf}`).digest('base64url');
  return `exp=${exp}&nbf=${nbf}&sig=${sig}&scope=${encodeURIComponent(scope)}`;
}
