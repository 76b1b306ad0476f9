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
import type { Config } from '../../config';
import type { Logger } from '../../shared/log';
import { openTrackAudio, TrackAudioReader } from './ffi-audio';
import { receiveStats, ReceiveStats } from './receive-stats';
import { SAMPLE_RATE } from '../pipeline/timeline';

export interface TrackAudio {
  identity: string;
  name: string;
  trackSid: string;
  /** Hands each decoded frame to onPcm as it arrives; resolves when the track's audio ends. */
  read: (onPcm: (pcm: Int16Array) => void) => Promise<void>;
  /** The track's receive-side stats now (jitter buffer): see receive-stats.ts. */
  stats: () => Promise<ReceiveStats | undefined>;
}

/** What the recorder's connection to the room goes through (session-guard.ts decides what it means). */
export interface SessionHooks {
  reconnecting: () => void;
  reconnected: (sid: string) => void;
  sessionChanged: (sid: string) => void;
}

/**
 * The recorder in the room: a hidden, subscribe-only participant that hands every audio track
 * (present now, published later, or re-published after a reconnect) to onTrack as 48 kHz mono.
 * It belongs to one room session: once the room has another SID (rtc-node rejoined a room LiveKit
 * made anew), it takes no more audio.
 */
export class EgressParticipant {
  private readonly room = new Room();
  /** Open readers by track sid: ended on unsubscription (the FFI would feed them on) and on leave. */
  private readonly readers = new Map<string, TrackAudioReader>();
  private warnedFallback = false;
  /** Set once the room is another session: no track of it is read. */
  private otherSession = false;
  /** Resolves when the server ends our session (room deleted, kicked...). */
  readonly closed: Promise<string>;
  private closeWith!: (reason: string) => void;

  constructor(
    private readonly cfg: Config,
    private readonly roomName: string,
    private readonly identity: string,
    private readonly log: Logger,
    private readonly onTrack: (t: TrackAudio) => void,
    private readonly roomSid: string,
    private readonly hooks: SessionHooks,
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
      if (track.kind !== TrackKind.KIND_AUDIO || this.otherSession) return;
      const sid = pub.sid ?? track.sid ?? '';
      this.log.info({ identity: p.identity, track: sid }, 'subscribed to audio track');
      this.onTrack({
        identity: p.identity,
        name: p.name || p.identity,
        trackSid: sid,
        read: (onPcm) => this.read(sid, track, onPcm),
        stats: () => receiveStats(track),
      });
    });
    this.room.on(RoomEvent.TrackUnsubscribed, (_track: RemoteTrack, pub: RemoteTrackPublication) => {
      this.readers.get(pub.sid ?? '')?.close();
    });
    this.room.on(RoomEvent.Reconnecting, () => this.hooks.reconnecting());
    this.room.on(RoomEvent.Reconnected, () => {
      void this.room.getSid().then((sid) => this.hooks.reconnected(sid), () => undefined);
    });
    this.room.on(RoomEvent.RoomSidChanged, (sid: string) => {
      if (!sid || sid === this.roomSid) return;
      this.otherSession = true;
      for (const r of this.readers.values()) r.close();
      this.hooks.sessionChanged(sid);
    });
    this.room.on(RoomEvent.Disconnected, (reason: DisconnectReason) => {
      this.closeWith(DisconnectReason[reason] ?? String(reason));
    });
    await this.room.connect(this.cfg.LIVEKIT_URL, await at.toJwt(), { autoSubscribe: true, dynacast: false });
  }

  private async read(sid: string, track: RemoteTrack, onPcm: (pcm: Int16Array) => void): Promise<void> {
    // Each frame is an FFI event (a protobuf message, an event-loop wake-up): see INGEST_FRAME_MS.
    const format = { sampleRate: SAMPLE_RATE, numChannels: 1, frameSizeMs: this.cfg.INGEST_FRAME_MS };
    const reader = openTrackAudio(track, format, onPcm);
    if (reader) {
      this.readers.set(sid, reader);
      try {
        return await reader.done;
      } finally {
        if (this.readers.get(sid) === reader) this.readers.delete(sid);
      }
    }
    if (!this.warnedFallback) this.log.warn('rtc-node internals not as expected: reading audio through AudioStream (slower)');
    this.warnedFallback = true;
    // rtc-node ends its own AudioStream on unsubscription and on disconnect.
    const stream = new AudioStream(track, format);
    for await (const frame of stream as unknown as AsyncIterable<AudioFrame>) onPcm(frame.data);
  }

  /** Participants in the room besides the recorder (hidden ones are not seen). */
  get participants(): number {
    return this.room.remoteParticipants.size;
  }

  async leave(): Promise<void> {
    for (const r of this.readers.values()) r.close();
    await this.room.disconnect().catch(() => undefined);
    this.closeWith('left');
  }
}
