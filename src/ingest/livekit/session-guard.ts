import { STOP_REASONS, type StopReason } from '../../contracts/lifecycle';
import type { Logger } from '../../shared/log';

/** What LiveKit says of the room now: null when it has no room of that name. */
export interface RoomState {
  sid: string;
  /** The room's own timeouts (seconds): empty before anyone joined, departure after the last one left. */
  emptyTimeoutS: number;
  departureTimeoutS: number;
}

/** How often LiveKit is asked about the session: rarely while connected, often while not. */
export const CHECK_CONNECTED_MS = 10_000;
export const CHECK_DISCONNECTED_MS = 2_000;
/** The longest a recording outlives contact with its room (a LiveKit that never comes back). */
export const UNREACHABLE_MS = 30_000;
/** Past the room's own timeout, so LiveKit's room_finished usually ends it first (a named reason). */
const EMPTY_MARGIN_MS = 2_000;
const DEFAULT_EMPTY_S = 300;

/**
 * One recording belongs to one room session (one SID). Fed the recorder's connection events and
 * polled every fraction of a second, it says when the recording must end without LiveKit's
 * room_finished: the recorder came back into another session of the room (LiveKit restarted), LiveKit
 * no longer has the session, contact has been lost for UNREACHABLE_MS, or the recorder has been
 * alone for the room's own timeout (a recorder never keeps a room alive). Contact lost and regained
 * within the same session is a gap (silence at its place), reported through onGap.
 */
export class SessionGuard {
  private lostAt: number | undefined;
  private aloneSince: number | undefined;
  private everJoined = false;
  private lastCheck = 0;
  private checking = false;
  private room: RoomState | null | undefined;
  private ended: StopReason | undefined;
  /** The session LiveKit moved the room to (when the recording ended as room lost). */
  newSid: string | undefined;
  /** When contact with the session was lost for good (ms, wall clock): where its audio ends. */
  lostSessionAt: number | undefined;

  constructor(
    private readonly o: {
      roomSid: string;
      checkRoom: () => Promise<RoomState | null>;
      onGap: (fromMs: number, toMs: number) => void;
      log: Logger;
      now?: () => number;
    },
  ) {}

  private get now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** The connection dropped; rtc-node is trying to get back. */
  reconnecting(): void {
    if (this.lostAt === undefined) this.o.log.warn('lost contact with the room; rtc-node is reconnecting');
    this.lostAt ??= this.now;
  }

  /** Back in a room: the same session goes on (the time away is a gap), another one ends this recording. */
  reconnected(sid: string): void {
    if (sid && sid !== this.o.roomSid) return this.sessionChanged(sid);
    if (this.lostAt !== undefined) {
      this.o.onGap(this.lostAt, this.now);
      this.o.log.warn({ lostForMs: this.now - this.lostAt }, 'back in the same room session after losing contact: the time away is a gap');
    }
    this.lostAt = undefined;
  }

  /** The room's SID is another one: LiveKit made a new room of this name (a restart, a node lost). */
  sessionChanged(sid: string): void {
    if (!sid || sid === this.o.roomSid || this.ended) return;
    this.newSid = sid;
    this.end(STOP_REASONS.roomLost, this.lostAt ?? this.now);
  }

  /** The room connection ended for good and LiveKit does not answer either: the session is lost with it. */
  unreachable(): void {
    this.end(STOP_REASONS.livekitUnreachable, this.lostAt ?? this.now);
  }

  /** Called every poll with the number of other participants in the room; the reason to stop, if any. */
  poll(participants: number): StopReason | undefined {
    if (this.ended) return this.ended;
    const now = this.now;
    if (participants > 0) {
      this.everJoined = true;
      this.aloneSince = undefined;
    } else if (this.lostAt !== undefined) {
      // Out of contact, the recorder sees nobody (rtc-node drops the remote participants): that is
      // not the room emptying; the UNREACHABLE_MS bound applies instead.
      this.aloneSince = undefined;
    } else this.aloneSince ??= now;
    const every = this.lostAt === undefined ? CHECK_CONNECTED_MS : CHECK_DISCONNECTED_MS;
    if (!this.checking && now - this.lastCheck >= every) void this.check();
    if (this.lostAt !== undefined && now - this.lostAt > UNREACHABLE_MS) this.end(STOP_REASONS.livekitUnreachable, this.lostAt);
    if (this.aloneSince !== undefined && this.room) {
      const timeoutS = (this.everJoined ? this.room.departureTimeoutS : 0) || this.room.emptyTimeoutS || DEFAULT_EMPTY_S;
      if (now - this.aloneSince > timeoutS * 1000 + EMPTY_MARGIN_MS) this.end(STOP_REASONS.roomEmpty, now);
    }
    return this.ended;
  }

  private async check(): Promise<void> {
    this.checking = true;
    this.lastCheck = this.now;
    try {
      const room = await this.o.checkRoom();
      this.room = room;
      // No room of that name: lost with the connection (LiveKit restarted), or ended without a word.
      if (!room) this.end(this.lostAt !== undefined ? STOP_REASONS.roomLost : STOP_REASONS.roomGone, this.lostAt ?? this.now);
      else if (room.sid !== this.o.roomSid) this.sessionChanged(room.sid);
    } catch (err) {
      // LiveKit unreachable: contact counts as lost only if the room connection is down too.
      this.o.log.debug({ err: String(err) }, 'room check failed');
    } finally {
      this.checking = false;
    }
  }

  private end(reason: StopReason, at: number): void {
    if (this.ended) return;
    this.ended = reason;
    this.lostSessionAt = at;
    this.o.log.warn({ reason, newSid: this.newSid }, 'the room session is over for this recording');
  }
}
