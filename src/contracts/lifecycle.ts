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
export function stopReasonOf(raw: string): StopReason {
  if (raw === STOP_REASONS.roomFinished) return STOP_REASONS.roomFinished;
  if (raw.startsWith('stopped by')) return STOP_REASONS.stoppedByHost;
  if (raw.startsWith('disconnected')) return STOP_REASONS.disconnected;
  return STOP_REASONS.aborted;
}
