import { z } from 'zod';
import { rel } from '../../contracts/recording-files';
import type { RecordingStore } from '../../storage/recording-store';

/**
 * transcript/live/{speaker}.json: what live transcription has done for one speaker (every word
 * before committedMs). Written by the live job, read by it after a restart and by the transcribe
 * stage, which only transcribes what comes after committedMs.
 */
export const LiveWords = z.object({
  committedMs: z.number(),
  words: z.array(z.object({ word: z.string(), startMs: z.number(), endMs: z.number() })),
  /** How far the speaker's audio has been read (ms of the timeline). */
  readMs: z.number(),
  /** The recording had ended when this was written: nothing more will come. */
  done: z.boolean(),
});
export type LiveWords = z.infer<typeof LiveWords>;

/** A speaker's live words; null when there are none (or they cannot be read: then they are made again). An S3 error is thrown. */
export async function readLiveWords(store: RecordingStore, speakerKey: string): Promise<LiveWords | null> {
  const text = await store.getText(rel.liveWords(speakerKey));
  if (text === null) return null;
  try {
    return LiveWords.parse(JSON.parse(text));
  } catch {
    return null;
  }
}

export function writeLiveWords(store: RecordingStore, speakerKey: string, live: LiveWords): Promise<void> {
  return store.putJson(rel.liveWords(speakerKey), live);
}
