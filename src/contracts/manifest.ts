import { z } from 'zod';

/**
 * manifest.json: the index of one recording. Written when recording starts and updated as files
 * appear, so a reader never lists the bucket. Keys are relative to the recording's prefix.
 * Times on the recording's timeline are milliseconds from its start (startedAt).
 */
export const MANIFEST_VERSION = 1;

/** Moves between them: contracts/lifecycle.ts. */
export const RecordingStatus = z.enum(['recording', 'finalizing', 'complete', 'failed', 'deleting']);

/** A FLAC chunk of a lossless stream: covers [startMs, startMs + durationMs) of the timeline. */
export const Chunk = z.object({
  index: z.number().int().min(0),
  key: z.string(),
  startMs: z.number().min(0),
  durationMs: z.number().min(0),
  bytes: z.number().int().min(0),
});

export const Speaker = z.object({
  identity: z.string(),
  name: z.string(),
  key: z.string(),
  joinedMs: z.number().min(0),
  /** First and last moment of audible audio on the speaker's own track (null: never spoke). */
  firstAudioMs: z.number().min(0).nullable(),
  lastAudioMs: z.number().min(0).nullable(),
  chunks: z.array(Chunk),
});

export const Gap = z.object({
  fromMs: z.number().min(0),
  toMs: z.number().min(0),
  reason: z.string(),
});

/** Progress of one after-the-room stage (finalize, transcribe, publish). */
export const StageState = z.object({
  status: z.enum(['running', 'done', 'failed']),
  at: z.string().datetime(),
  attempt: z.number().int().min(1),
  tookMs: z.number().min(0).optional(),
  error: z.string().optional(),
});
export type StageState = z.infer<typeof StageState>;

export const Manifest = z.object({
  version: z.literal(MANIFEST_VERSION),
  room: z.string(),
  roomSid: z.string(),
  recordingId: z.string(),
  status: RecordingStatus,
  /** From the room's metadata when recording started: who may listen (see docs/ACCESS.md). A manifest without one is private. */
  visibility: z.enum(['public', 'private']).default('private'),
  /** Wall-clock instant of timeline position 0. */
  startedAt: z.string().datetime(),
  endedAt: z.string().datetime().nullable(),
  updatedAt: z.string().datetime(),
  durationMs: z.number().min(0),
  sampleRate: z.number().int(),
  hls: z.object({
    eventPlaylist: z.string(),
    livePlaylist: z.string(),
    segmentSeconds: z.number(),
    codec: z.string(),
    bitrateKbps: z.number(),
    segments: z.number().int().min(0),
    bytes: z.number().int().min(0),
    ended: z.boolean(),
  }),
  speakerFormat: z.object({ codec: z.literal('flac'), chunkSeconds: z.number() }),
  /** The live mix, lossless, in the same chunks as the speakers (source of the archive files). */
  mix: z.object({ chunks: z.array(Chunk) }),
  speakers: z.array(Speaker),
  gaps: z.array(Gap),
  /** Files made after the room (finalize/transcribe/publish), by kind. */
  files: z.record(z.string(), z.string()).default({}),
  processing: z.record(z.string(), StageState).default({}),
  error: z.string().nullable().default(null),
  /** Why recording stopped (contracts/lifecycle.ts STOP_REASONS). */
  stopReason: z.string().nullable().default(null),
  /**
   * One conversation in two recordings: LiveKit restarted under the room and the people came back
   * in a new session (another SID). The earlier recording names the later one and the later the
   * earlier (recording ids of the same room).
   */
  continues: z.string().nullable().default(null),
  continuedBy: z.string().nullable().default(null),
});

export type Manifest = z.infer<typeof Manifest>;
export type SpeakerEntry = z.infer<typeof Speaker>;
export type ChunkEntry = z.infer<typeof Chunk>;
export type RecordingStatus = z.infer<typeof RecordingStatus>;
