import { z } from 'zod';

/**
 * final/live-archive.json: what the live archive job (workers, while the room runs) has made, so
 * finalize can use it instead of starting over. Written by that job only.
 */
export const LiveArchiveStatus = z.object({
  state: z.enum(['running', 'complete', 'abandoned']),
  updatedAt: z.string(),
  /** How far every stream has been encoded (ms of the recording). */
  doneMs: z.number(),
  /** Set once complete: the recording length it covers. */
  durationMs: z.number().optional(),
  /** Chunk indices read per stream ('mix' and each speaker key): finalize checks them against the manifest. */
  chunks: z.record(z.string(), z.array(z.number().int())).default({}),
  /** Bytes of each of those chunks, same order. */
  chunkBytes: z.record(z.string(), z.array(z.number().int())).default({}),
  /** manifest.files entries it wrote (kind → relative key). */
  files: z.record(z.string(), z.string()).default({}),
  loudness: z.object({ gainDb: z.number(), I: z.number(), TP: z.number(), measuredMs: z.number() }).optional(),
  reason: z.string().optional(),
});
export type LiveArchiveStatus = z.infer<typeof LiveArchiveStatus>;
