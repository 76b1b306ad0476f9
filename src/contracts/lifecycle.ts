import type { Manifest, RecordingStatus } from './manifest';

/**
 * A recording's lifecycle, in one place: its statuses, the moves between them and the named
 * reasons it stops or fails. A manifest's status is changed only through `transition`.
 *
 *   recording ──▶ finalizing ──▶ complete
 *       │  ▲          │    ▲
 *       │  └(resume)  ▼    │(retried by hand)
 *       └──────────▶ failed
 *   any status ──▶ deleting (then nothing: the objects and the index entries go, a tombstone stays)
 */
export const TRANSITIONS: Record<RecordingStatus, readonly RecordingStatus[]> = {
  recording: ['recording', 'finalizing', 'failed', 'deleting'],
  finalizing: ['finalizing', 'complete', 'failed', 'deleting'],
  complete: ['complete', 'deleting'],
  failed: ['finalizing', 'complete', 'failed', 'deleting'],
  deleting: ['deleting'],
};

/** Why a recording stopped (manifest.stopReason). */
export const STOP_REASONS = {
  roomFinished: 'room finished',
  stoppedByHost: 'stopped by host',
  disconnected: 'disconnected from LiveKit',
  roomLeftOpen: 'room ended while no ingest recorded it',
  /** The recorder came back into a room of the same name with another SID: a new session, recorded on its own. */
  roomLost: 'room lost: LiveKit restarted',
  /** LiveKit says the session is over (no room, or another SID), and no room_finished came. */
  roomGone: 'room gone: LiveKit no longer has this session',
  /** No contact with LiveKit for longer than a recording may outlive its room. */
  livekitUnreachable: 'room lost: LiveKit unreachable',
  /** Only the recorder was left in the room for the room's own empty/departure timeout. */
  roomEmpty: 'room empty',
  aborted: 'aborted',
} as const;
export type StopReason = (typeof STOP_REASONS)[keyof typeof STOP_REASONS];

/** Why a recording failed (manifest.error starts with one of these). */
export const FAILURE_REASONS = {
  finalizeFailed: 'finalize failed',
  publishFailed: 'publish failed',
} as const;

export class LifecycleError extends Error {}

export function canTransition(from: RecordingStatus, to: RecordingStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Moves a manifest to another status, or throws: a stage must never move a recording backwards. */
export function transition(m: Manifest, to: RecordingStatus, o: { stopReason?: StopReason; error?: string } = {}): Manifest {
  if (!canTransition(m.status, to)) throw new LifecycleError(`recording ${m.recordingId} cannot go from ${m.status} to ${to}`);
  m.status = to;
  if (o.stopReason) m.stopReason = o.stopReason;
  if (to === 'failed') m.error = (o.error ?? 'failed').slice(0, 2000);
  else if (to === 'complete') m.error = null;
  return m;
}

/** Maps a free-form stop (a control message, a disconnect reason) to its named reason. */
/** Why a stretch of a recording's timeline is silence (manifest.gaps); a lost session's tail is named by its stop reason. */
export const GAP_REASONS = {
  ingestLost: 'ingest lost (crash, kill or lost lock); resumed by another',
  lostContact: 'lost contact with LiveKit; back in the same session',
} as const;

export function stopReasonOf(raw: string): StopReason {
  const named = (Object.values(STOP_REASONS) as string[]).find((r) => r === raw);
  if (named) return named as StopReason;
  // LiveKit deleted the room (the app ended it) or closed it (its departure or empty timeout, the
  // recorder being a dependent participant): the room finished, whichever signal came first.
  if (raw === 'disconnected: ROOM_DELETED' || raw === 'disconnected: ROOM_CLOSED') return STOP_REASONS.roomFinished;
  if (raw.startsWith('stopped by')) return STOP_REASONS.stoppedByHost;
  if (raw.startsWith('disconnected')) return STOP_REASONS.disconnected;
  return STOP_REASONS.aborted;
}
