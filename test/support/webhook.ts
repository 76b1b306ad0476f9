import { createHash } from 'node:crypto';
import { AccessToken } from 'livekit-server-sdk';

/** Signs a body the way livekit-server does: a JWT whose sha256 claim is the body's digest. */
export async function signWebhook(body: string, apiKey: string, apiSecret: string): Promise<string> {
  const at = new AccessToken(apiKey, apiSecret);
  at.sha256 = createHash('sha256').update(body).digest('base64');
  return at.toJwt();
}

export function roomEvent(event: string, room: { sid: string; name: string; metadata?: string }): string {
  return JSON.stringify({
    event,
    room: { sid: room.sid, name: room.name, creationTime: String(Math.floor(Date.now() / 1000)), metadata: room.metadata ?? '' },
    id: `EV_${Math.random().toString(36).slice(2, 12)}`,
    createdAt: String(Math.floor(Date.now() / 1000)),
  });
}

export async function postWebhook(baseUrl: string, body: string, auth?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${baseUrl}/v1/webhooks/livekit`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/webhook+json', ...(auth ? { Authorization: auth } : {}) },
    body,
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}
