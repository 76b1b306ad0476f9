import type { RoomServiceClient } from 'livekit-server-sdk';
import { GAP_REASONS, STOP_REASONS, stopReasonOf, type StopReason } from '../../contracts/lifecycle';
import type { Manifest } from '../../contracts/manifest';
import type { Logger } from '../../shared/log';
import type { Bucket } from '../../storage/objects';
import { listIndex } from '../../storage/recording-index';
import { RecordingStore } from '../../storage/recording-store';
import type { SessionHooks } from './egress-participant';
import { SessionGuard } from './session-guard';

/** Reasons a recording ends because LiveKit lost its session (not because people ended the room). */
const LOST: ReadonlySet<string> = new Set([STOP_REASONS.roomLost, STOP_REASONS.roomGone, STOP_REASONS.livekitUnreachable]);
/** A new session this soon after a lost one continues its conversation. */
export const CONTINUES_WITHIN_MS = 120_000;
/** How long a new session's recorder looks for the part it continues (the old recorder may notice late). */
const LINK_LOOK_MS = 60_000;
const LINK_EVERY_MS = 3_000;

/**
 * A recording's room session, as LiveKit sees it: the guard that ends the recording when the session
 * is over without a room_finished (session-guard.ts), the gaps contact losses leave, and the link
 * between the two recordings of one conversation split by LiveKit: the new session's recorder finds
 * the room's previous recording, ended as lost at most CONTINUES_WITHIN_MS before it began, and names
 * it (`continues`) in its own manifest and itself in that one (`continuedBy`, written and kept by
 * compare-and-swap: RecordingStore.updateManifest / writeManifest).
 */
export class RoomSession {
  readonly guard: SessionGuard;
  private lookedAt = 0;
  private readonly startedAt = Date.now();
  private linked = false;

  constructor(
    private readonly o: {
      room: string;
      roomSid: string;
      recordingId: string;
      startedAtMs: number;
      rooms: RoomServiceClient;
      bucket: Bucket;
      log: Logger;
      /** Wall-clock ms → ms on the recording's timeline. */
      toTimelineMs: (wallMs: number) => number;
      /** A change to the live manifest. */
      update: (change: (m: Manifest) => void) => void;
      /** The connection dropped or came back: the tracks' audio may have lost time. */
      onContactChange?: () => void;
    },
  ) {
    this.guard = new SessionGuard({
      roomSid: o.roomSid,
      log: o.log,
      checkRoom: async () => {
        const [info] = await o.rooms.listRooms([o.room]);
        return info ? { sid: info.sid, emptyTimeoutS: info.emptyTimeout, departureTimeoutS: info.departureTimeout } : null;
      },
      onGap: (from, to) => o.update((m) => m.gaps.push({ fromMs: o.toTimelineMs(from), toMs: o.toTimelineMs(to), reason: GAP_REASONS.lostContact })),
    });
  }

  get hooks(): SessionHooks {
    return {
      reconnecting: () => {
        this.guard.reconnecting();
        this.o.onContactChange?.();
      },
      reconnected: (sid) => {
        this.guard.reconnected(sid);
        this.o.onContactChange?.();
      },
      sessionChanged: (sid) => this.guard.sessionChanged(sid),
    };
  }

  /** Every poll of the recorder: the reason to stop, if the session is over; meanwhile, the link to an earlier part. */
  poll(participants: number): StopReason | undefined {
    const now = Date.now();
    if (!this.linked && now - this.startedAt < LINK_LOOK_MS && now - this.lookedAt >= LINK_EVERY_MS) {
      this.lookedAt = now;
      void this.linkEarlierPart().catch((err) => this.o.log.debug({ err: String(err) }, 'looking for an earlier part failed'));
    }
    return this.guard.poll(participants);
  }

  /**
   * Looks at the room's previous recording: links it if it ended as lost just before; gives up
   * (stops looking) once it is clear there is nothing to link, so an ordinary recording costs a LIST
   * or two, not one every few seconds for a minute.
   */
  private async linkEarlierPart(): Promise<void> {
    const { entries } = await listIndex(this.o.bucket, { room: this.o.room, includePrivate: true, limit: 3 });
    const earlier = entries.find((e) => e.recordingId !== this.o.recordingId && e.startedAt.getTime() < this.o.startedAtMs);
    const nothing = () => void (this.linked = true);
    if (!earlier) return nothing();
    const store = new RecordingStore(this.o.bucket, this.o.room, earlier.recordingId);
    const m = await store.readManifest();
    if (!m || m.room !== this.o.room || m.continuedBy) return nothing();
    // Still recording: its recorder may not have noticed yet that LiveKit lost its session.
    if (m.status === 'recording') return;
    if (!m.endedAt || !LOST.has(m.stopReason ?? '') || this.o.startedAtMs - Date.parse(m.endedAt) > CONTINUES_WITHIN_MS) return nothing();
    this.linked = true;
    this.o.update((own) => (own.continues = m.recordingId));
    // A compare-and-swap on the manifest as it is now: a stage finishing that recording meanwhile
    // is not undone (an unconditional write of `m` put its status back to finalizing).
    await store.updateManifest((now) => (now.continuedBy || now.status === 'deleting' ? null : { ...now, continuedBy: this.o.recordingId }));
    this.o.log.info({ continues: m.recordingId }, 'this recording continues one whose session LiveKit lost');
  }

  /**
   * The room connection ended (rtc-node gave up reconnecting, or the server closed it): what LiveKit
   * says of the room names why — another session (a restart), no answer at all (LiveKit
   * unreachable: its tail is a named gap), or else the raw reason.
   */
  async afterDisconnect(raw: string): Promise<string> {
    // LiveKit itself ended the room (deleted, closed): nothing to ask.
    if (stopReasonOf(raw) === STOP_REASONS.roomFinished) return raw;
    try {
      const [info] = await Promise.race([this.o.rooms.listRooms([this.o.room]), new Promise<never>((_, no) => setTimeout(() => no(new Error('timeout')), 2_000))]);
      if (info && info.sid !== this.o.roomSid) {
        this.guard.sessionChanged(info.sid);
        return STOP_REASONS.roomLost;
      }
      if (info) return raw;
    } catch {
      // rtc-node gave up and LiveKit does not answer: not the room's end, the loss of its session.
      this.guard.unreachable();
      return STOP_REASONS.livekitUnreachable;
    }
    return raw;
  }

  /** At the end: the silence after the session was lost is a gap of the recording, named. */
  close(m: Manifest, endMs: number): void {
    const lostAt = this.guard.lostSessionAt;
    if (lostAt === undefined || !LOST.has(m.stopReason ?? '')) return;
    const fromMs = Math.min(this.o.toTimelineMs(lostAt), endMs);
    if (endMs > fromMs) m.gaps.push({ fromMs, toMs: endMs, reason: m.stopReason! });
  }
}
