import { createHmac } from 'node:crypto';
import { AccessToken } from 'livekit-server-sdk';

/** Real LiveKit tokens for the tests' roles (a negative ttl makes an expired one). */
export async function livekitToken(env: Record<string, string>, room: string, grants: Record<string, unknown>, o: { secret?: string; ttl?: string | number; identity?: string } = {}): Promise<string> {
  const at = new AccessToken(env.LIVEKIT_API_KEY, o.secret ?? env.LIVEKIT_API_SECRET, { identity: o.identity ?? 'someone', ttl: o.ttl ?? '10m' });
  at.addGrant({ room, ...grants });
  return at.toJwt();
}

/** A signed link's query made the way the api makes them (for expired or forged variants). */
export function signedQuery(secret: string, room: string, scope: string, exp: number): string {
  const sig = createHmac('sha256', secret).update(`${room}\n${scope}\n${exp}`).digest('base64url');
  return `exp=${exp}&sig=${sig}&scope=${encodeURIComponent(scope)}`;
}
