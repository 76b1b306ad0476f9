import { UnrecoverableError } from 'bullmq';

/** One word with its time in the audio handed to the engine (ms from its start). */
export interface Word {
  word: string;
  startMs: number;
  endMs: number;
}

export interface TranscriptionEngine {
  readonly name: string;
  /** Transcribes a 16 kHz mono WAV file. */
  transcribe(wavFile: string, opts: { timeoutMs: number }): Promise<Word[]>;
}

/**
 * A configuration problem (bad model path, a model that does not load, a missing module or
 * program, a service that refuses the credentials or does not know the endpoint): retrying cannot
 * help, so it is an UnrecoverableError and BullMQ fails the job at once. Timeouts, refused
 * connections and 5xx answers are plain errors: those are retried.
 */
export class EngineConfigError extends UnrecoverableError {}
