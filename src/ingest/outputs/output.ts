/**
 * What a recording feeds: every output (the live HLS, the lossless mix chunks, the speakers'
 * files) is written as the mixer moves on, closed when the recording stops (its last file queued
 * for upload when close() resolves), or killed with the process's encoders when it fails. A
 * recording holds a list of them; a new output is one more entry.
 */
export interface RecordingOutput {
  /** Its encoders' processes (the ingest's CPU accounting). */
  readonly pids: number[];
  close(): Promise<void>;
  kill(): void;
}

/** An output of the mix: each block of the mix, in order, from the recording's (or resume's) position. */
export interface MixOutput extends RecordingOutput {
  write(pcm: Int16Array): void;
}
