import { z } from 'zod';

/** BullMQ queues and the data their jobs carry. */
export const QUEUES = { record: 'record', liveTranscribe: 'transcribe-live', liveArchive: 'archive-live', finalize: 'finalize', transcribe: 'transcribe', publish: 'publish' } as const;

export const RecordJob = z.object({
  room: z.string().min(1),
  roomSid: z.string().min(1),
  recordingId: z.string().min(1),
  /** Who asked: the room_started webhook or a host through the api. */
  trigger: z.enum(['webhook', 'api']),
});
export type RecordJob = z.infer<typeof RecordJob>;

export const FinalizeJob = z.object({
  room: z.string().min(1),
  recordingId: z.string().min(1),
  manifestKey: z.string().min(1),
});
export type FinalizeJob = z.infer<typeof FinalizeJob>;

/** The after-the-room jobs carry the same payload as finalize. */
export const liveTranscribeJobId = (recordingId: string) => `live-${recordingId}`;
export const liveArchiveJobId = (recordingId: string) => `arch-${recordingId}`;
export const transcribeJobId = (recordingId: string) => `tr-${recordingId}`;
export const publishJobId = (recordingId: string) => `pub-${recordingId}`;

/** One record job per room session: a repeated or retried webhook maps to the same id. */
export const recordJobId = (roomSid: string) => `rec-${roomSid}`;
export const finalizeJobId = (recordingId: string) => `fin-${recordingId}`;
