import { z } from 'zod';

/**
 * What roomcast reads from a LiveKit room's metadata (a JSON string set by the app):
 * {"roomcast": {"record": false}} opts a room out of automatic recording.
 */
const RoomMetadata = z.object({
  roomcast: z
    .object({
      record: z.boolean().optional(),
      visibility: z.enum(['public', 'private']).optional(),
    })
    .optional(),
});

export interface RoomOptions {
  autoRecord: boolean;
  visibility: 'public' | 'private';
}

export function roomOptions(metadata: string | undefined): RoomOptions {
  let parsed: z.infer<typeof RoomMetadata> = {};
  if (metadata) {
    try {
      const r = RoomMetadata.safeParse(JSON.parse(metadata));
      if (r.success) parsed = r.data;
    } catch {
      // Metadata that is not JSON belongs to the app, not to us: defaults apply.
    }
  }
  return {
    autoRecord: parsed.roomcast?.record ?? true,
    visibility: parsed.roomcast?.visibility ?? 'public',
  };
}
