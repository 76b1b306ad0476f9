import { createHash } from 'node:crypto';

/**
 * The storage layout contract: everything of one recording lives under rooms/{room}/{recordingId}/.
 * Room names and identities come from LiveKit clients and may hold anything, so they become a
 * path-safe key first.
 */
const SAFE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,95}$/;

export function safeKey(name: string): string {
  if (SAFE.test(name) && !name.includes('..')) return name;
  const slug = name.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 12);
  return `${slug || 'x'}~${hash}`;
}

export const RECORDING_ID = /^[0-9]{8}T[0-9]{6}Z-[A-Za-z0-9_]{1,40}$/;

export function recordingPrefix(room: string, recordingId: string): string {
  return `rooms/${safeKey(room)}/${recordingId}/`;
}

/** Keys relative to a recording's prefix live with the table of its files. */
export { rel } from './recording-files';

/** A recording id sorts by start time and names its room session: 20261125T201500Z-RM_abc. */
export function makeRecordingId(startedAt: Date, roomSid: string): string {
  const ts = startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${ts}-${roomSid.replace(/[^A-Za-z0-9_]/g, '').slice(0, 40) || 'room'}`;
}
