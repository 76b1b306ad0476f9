import {
  AudioFrame,
  AudioStream,
  DisconnectReason,
  RemoteParticipant,
  RemoteTrack,
  RemoteTrackPublication,
  Room,
  RoomEvent,
  TrackKind,
} from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import type { Config } from '../config';
import type { Logger } from '../shared/log';
import { receiveStats, ReceiveStats } from './receive-stats';
import { SAMPLE_RATE } from './timeline';

export interface TrackAudio {
  identity: string;
  name: string;
  trackSid: string;
  frames: AsyncIterable<AudioFrame>;
  /** The track's receive-side stats now (jitter buffer): see receive-stats.ts. */
  stats: () => Promise<ReceiveStats | undefined>;
}

/**
 * The recorder in the room: a hidden, subscribe-only participant that hands every audio track
 * (present now, published later, or re-published after a reconnect) to onTrack as 48 kHz mono.
 */
export class EgressParticipant {
  private readonly room = new Room();
  private readonly streams = new Set<AudioStream>();
  /** Resolves when the server ends our session (room deleted, kicked...). */
  readonly closed: Promise<string>;
  private closeWith!: (reason: string) => void;

  constructor(
    private readonly cfg: Config,
    private readonly roomName: string,
    private readonly identity: string,
    private readonly log: Logger,
    private readonly onTrack: (t: TrackAudio) => void,
  ) {
    this.closed = new Promise((resolve) => (this.closeWith = resolve));
  }

  async join(): Promise<void> {
    const at = new AccessToken(this.cfg.LIVEKIT_API_KEY, this.cfg.LIVEKIT_API_SECRET, {
      identity: this.identity,
      name: 'roomcast recorder',
      ttl: '24h',
    });
    at.addGrant({
      room: this.roomName,
      roomJoin: true,
      canSubscribe: true,
      canPublish: false,
      canPublishData: false,
      hidden: true,
      recorder: true,
    });
    this.room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack, pub: RemoteTrackPublication, p: RemoteParticipant) => {
      if (track.kind !== TrackKind.KIND_AUDIO) return;
      // Each frame is an FFI event (a protobuf message, an event-loop wake-up): see INGEST_FRAME_MS.
      const stream = new AudioStream(track, { sampleRate: SAMPLE_RATE, numChannels: 1, frameSizeMs: this.cfg.INGEST_FRAME_MS });
      this.streams.add(stream);
      this.log.info({ identity: p.identity, track: pub.sid }, 'subscribed to audio track');
      this.onTrack({
        identity: p.identity,
        name: p.name || p.identity,
        trackSid: pub.sid ?? track.sid ?? '',
        frames: this.iterate(stream),
        stats: () => receiveStats(track),
      });
    });
    this.room.on(RoomEvent.Disconnected, (reason: DisconnectReason) => {
      this.closeWith(DisconnectReason[reason] ?? String(reason));
    });
    await this.room.connect(this.cfg.LIVEKIT_URL, await at.toJwt(), { autoSubscribe: true, dynacast: false });
  }

  private async *iterate(stream: AudioStream): AsyncIterable<AudioFrame> {
    try {
      for await (const frame of stream as unknown as AsyncIterable<AudioFrame>) yield frame;
    } finally {
      this.streams.delete(stream);
    }
  }

  async leave(): Promise<void> {
    for (const s of this.streams) await s.cancel().catch(() => undefined);
    await this.room.disconnect().catch(() => undefined);
    this.closeWith('left');
  }
}
