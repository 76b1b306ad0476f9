import { RoomServiceClient } from 'livekit-server-sdk';
import type { Config } from '../config';

/** LiveKit's HTTP API lives on the same host and port as its WebSocket. */
export const livekitHttpUrl = (url: string) => url.replace(/^ws/, 'http');

export function roomService(cfg: Pick<Config, 'LIVEKIT_URL' | 'LIVEKIT_API_KEY' | 'LIVEKIT_API_SECRET'>): RoomServiceClient {
  return new RoomServiceClient(livekitHttpUrl(cfg.LIVEKIT_URL), cfg.LIVEKIT_API_KEY, cfg.LIVEKIT_API_SECRET);
}
