import { z } from 'zod';

/**
 * The live edge: how the parts of a recording's LL-HLS stream travel from its ingest to every api
 * process, over one Redis stream per recording (bounded by length and by time), instead of a PUT
 * per part to S3. Full segments still go to S3 and stay the source of truth.
 *
 * Entries, in order:
 * - `run`: an encoder run starts (a recording's start, or a resume after a crash or hand-over).
 *   Its bytes are the init segment. Parts from an earlier run at or after `firstMsn` never made a
 *   whole segment in S3 and are forgotten.
 * - `part`: one part (fMP4 fragment) of segment `msn`; `last` closes the segment.
 * - `end`: the recording stopped here (ended or handed over).
 * An api process that reads the same entries renders the same playlist bytes.
 */
export const edgeStreamKey = (queuePrefix: string, recordingId: string) => `${queuePrefix}:edge:${recordingId}`;

/** Enough entries for about a minute of parts (5 a second) with room to spare. */
export const EDGE_STREAM_MAX_ENTRIES = 400;
/** The stream outlives its last write by this much (a reader that comes late still finds the end). */
export const EDGE_STREAM_TTL_SECONDS = 600;

export const EdgeRun = z.object({
  t: z.literal('run'),
  firstMsn: z.number().int().min(0),
  /** After a resume: the first segment of this run follows a gap (EXT-X-DISCONTINUITY). */
  discontinuity: z.boolean(),
  /** PART-TARGET (s) and TARGETDURATION (s) of the stream. */
  partTarget: z.number().positive(),
  targetDuration: z.number().int().positive(),
});
export const EdgePart = z.object({
  t: z.literal('part'),
  msn: z.number().int().min(0),
  part: z.number().int().min(0),
  duration: z.number().positive(),
  /** Wall-clock ms of the segment's first sample (EXT-X-PROGRAM-DATE-TIME). */
  segmentStartMs: z.number(),
  /** This part closes its segment. */
  last: z.boolean(),
  /** The run's PART-TARGET and TARGETDURATION again: the stream is trimmed, its `run` entry goes first. */
  partTarget: z.number().positive(),
  targetDuration: z.number().int().positive(),
});
export const EdgeEnd = z.object({ t: z.literal('end') });
export const EdgeMeta = z.discriminatedUnion('t', [EdgeRun, EdgePart, EdgeEnd]);
export type EdgeRun = z.infer<typeof EdgeRun>;
export type EdgePart = z.infer<typeof EdgePart>;
export type EdgeMeta = z.infer<typeof EdgeMeta>;

/** An entry as XADD fields: its description (JSON) and its bytes. */
export function edgeFields(meta: EdgeMeta, bytes?: Buffer): Array<string | Buffer> {
  return bytes ? ['m', JSON.stringify(meta), 'b', bytes] : ['m', JSON.stringify(meta)];
}

/** An entry read back (XREAD with buffers); null for one that does not parse (never trusted blindly). */
export function parseEdgeFields(fields: Buffer[]): { meta: EdgeMeta; bytes: Buffer | undefined } | null {
  let m: Buffer | undefined;
  let b: Buffer | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i].toString();
    if (name === 'm') m = fields[i + 1];
    else if (name === 'b') b = fields[i + 1];
  }
  if (!m) return null;
  try {
    const meta = EdgeMeta.safeParse(JSON.parse(m.toString()));
    return meta.success ? { meta: meta.data, bytes: b } : null;
  } catch {
    return null;
  }
}
