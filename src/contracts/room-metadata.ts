import { z } from 'zod';

/**
 * What roomcast reads from a LiveKit room's metadata (a JSON string set by the app):
 * {"roomcast": {"record": false, "visibility": "private"}}.
 *
 * Fails closed: a `roomcast` field that is there but does not parse (a wrong type, an unknown
 * value or key, JSON cut short) makes the room private and not recorded automatically — a typo
 * must never publish a private conversation. Metadata without a `roomcast` field belongs to the
 * app alone: the defaults apply (recorded, public).
 */
const RoomcastOptions = z
  .object({
    record: z.boolean().optional(),
    visibility: z.enum(['public', 'private']).optional(),
  })
  .strict();

export interface RoomOptions {
  autoRecord: boolean;
  visibility: 'public' | 'private';
  /** Why the defaults were not used (a malformed roomcast field): for the log. */
  problem?: string;
}

const DEFAULTS: RoomOptions = { autoRecord: true, visibility: 'public' };
const closed = (problem: string): RoomOptions => ({ autoRecord: false, visibility: 'private', problem });

export function roomOptions(metadata: string | undefined): RoomOptions {
  if (!metadata) return DEFAULTS;
  let doc: unknown;
  try {
    doc = JSON.parse(metadata);
  } catch {
    // Not JSON: the app's own business, unless it looks like it meant to talk to us.
    return /roomcast/i.test(metadata) ? closed('room metadata mentions roomcast but is not JSON') : DEFAULTS;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || !('roomcast' in doc)) return DEFAULTS;
  const r = RoomcastOptions.safeParse((doc as { roomcast: unknown }).roomcast);
  if (!r.success) return closed(`room metadata's roomcast field is malformed: ${r.error.issues.map((i) => `${i.path.join('.') || 'roomcast'} ${i.message}`).join('; ')}`);
  return { autoRecord: r.data.record ?? true, visibility: r.data.visibility ?? 'public' };
}
