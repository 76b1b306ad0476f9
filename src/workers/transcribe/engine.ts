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

/** A configuration problem (bad model path, missing module): retrying cannot help. */
export class EngineConfigError extends Error {}
