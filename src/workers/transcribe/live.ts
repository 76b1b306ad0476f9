import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import { SPEECH_SAMPLE_RATE } from '../../contracts/audio';
import type { FinalizeJob } from '../../contracts/jobs';
import type { SpeakerEntry } from '../../contracts/manifest';
import { decodePcm } from '../../shared/ffmpeg';
import { CPU_PARALLELISM, mapPool } from '../../shared/pool';
import { concatPcm, wavFile } from '../../shared/wav';
import type { RecordingStore } from '../../storage/recording-store';
import { FrameActivity, regionsFrom, VAD } from '../analysis';
import { asJobError, readLiveManifest, StageDeps, storeFor } from '../stage';
import type { TranscriptionEngine } from './engine';
import { LiveWords, readLiveWords, writeLiveWords } from './live-words';
import { engineTimeoutMs, MERGE_GAP_MS, PAD_MS, windows } from './windows';

export type { LiveWords } from './live-words';

/** Samples in one VAD frame at the speech rate: the tail is cut on this grid. */
const FRAME = (SPEECH_SAMPLE_RATE * VAD.frameMs) / 1000;

interface SpeakerState {
  sp: SpeakerEntry;
  live: LiveWords;
  nextChunk: number;
  /** Undecided audio (speech rate) from tailStartMs on. */
  tail: Int16Array;
  tailStartMs: number;
}

type LiveDeps = StageDeps & { engine: TranscriptionEngine; timeoutMs: number; pollMs?: number };

/**
 * Transcribes while the room is live, so little is left when it ends: each speaker's FLAC chunks
 * are read as they land, speech regions that are over (followed by a pause) are transcribed, and
 * the words so far are kept in S3 (transcript/live/{speaker}.json). A restarted job resumes from
 * what was committed. The transcribe stage then only does what comes after committedMs.
 * A deleted recording stops the job for good (RecordingGoneError), as does an engine's
 * configuration error (EngineConfigError).
 */
export async function transcribeLive(deps: LiveDeps, data: FinalizeJob, job?: Job): Promise<{ speakers: number; words: number }> {
  const store = storeFor(deps, data);
  const states = new Map<string, SpeakerState>();
  const workdir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-live-'));
  let n = 0;
  try {
    for (;;) {
      // Null until the recorder has written it (this job starts with the room).
      const m = await readLiveManifest(store);
      const ended = !!m && m.status !== 'recording';
      // Speakers side by side (one engine process per core); each a chunk at a time, so the
      // undecided tail stays short even when catching up with a long room.
      await mapPool(m?.speakers ?? [], CPU_PARALLELISM, async (sp) => {
        const chunkMs = m!.speakerFormat.chunkSeconds * 1000;
        let st = states.get(sp.identity);
        if (!st) {
          const live = (await readLiveWords(store, sp.key)) ?? { committedMs: (sp.chunks[0]?.index ?? 0) * chunkMs, readMs: 0, words: [], done: false };
          const first = Math.floor(live.committedMs / chunkMs);
          st = { sp, live, nextChunk: first, tail: new Int16Array(0), tailStartMs: first * chunkMs };
          states.set(sp.identity, st);
        }
        const state = st;
        state.sp = sp;
        for (const c of sp.chunks.filter((x) => x.index >= state.nextChunk).sort((a, b) => a.index - b.index)) {
          // A missing chunk (a gap) is silence in place; a short one (cut by a crash) is padded.
          const gap = (c.index - state.nextChunk) * chunkMs * (SPEECH_SAMPLE_RATE / 1000);
          const file = path.join(workdir, `c${n++}.flac`);
          const bytes = await store.getBytes(c.key);
          if (!bytes) throw new Error(`chunk ${c.key} is listed in the manifest but not in storage`);
          await writeFile(file, bytes);
          const parts: Int16Array[] = [state.tail, new Int16Array(gap)];
          let samples = 0;
          await decodePcm(file, SPEECH_SAMPLE_RATE, (p) => {
            parts.push(Int16Array.from(p));
            samples += p.length;
          });
          parts.push(new Int16Array(Math.max(0, (chunkMs * SPEECH_SAMPLE_RATE) / 1000 - samples)));
          await rm(file, { force: true });
          state.tail = concatPcm(parts);
          state.nextChunk = c.index + 1;
          await advance(deps, store, workdir, state, false);
        }
        if (ended && !state.live.done) await advance(deps, store, workdir, state, true);
      });
      await job?.updateProgress(m ? Math.min(99, Math.round(m.durationMs / 60_000)) : 0);
      if (ended) break;
      await new Promise((r) => setTimeout(r, deps.pollMs ?? 3000));
    }
  } catch (err) {
    throw asJobError(err, data.recordingId);
  } finally {
    await rm(workdir, { recursive: true, force: true });
  }
  return { speakers: states.size, words: [...states.values()].reduce((a, s) => a + s.live.words.length, 0) };
}

/** Transcribes the speech regions of the tail that are over, and commits up to them. */
async function advance(deps: LiveDeps, store: RecordingStore, workdir: string, st: SpeakerState, final: boolean) {
  // Drop what is already committed (frame-aligned, so activity frames stay on the 20 ms grid).
  const skip = Math.max(0, Math.floor(((st.live.committedMs - st.tailStartMs) * SPEECH_SAMPLE_RATE) / 1000 / FRAME) * FRAME);
  if (skip > 0) {
    st.tail = st.tail.slice(Math.min(skip, st.tail.length));
    st.tailStartMs += (skip / SPEECH_SAMPLE_RATE) * 1000;
  }
  const act = new FrameActivity(SPEECH_SAMPLE_RATE);
  act.push(st.tail);
  const tailEndMs = st.tailStartMs + (st.tail.length / SPEECH_SAMPLE_RATE) * 1000;
  const regions = regionsFrom(act.active, st.tailStartMs).filter((r) => r.endMs > st.live.committedMs);
  // A region is over once a pause long enough to end a window follows it: then the engine gets the
  // same windows live as it would after the room, whenever the chunks happened to arrive.
  const closed = final ? regions : regions.filter((r) => r.endMs <= tailEndMs - MERGE_GAP_MS);
  while (!final && closed.length > 0 && closed.length < regions.length && regions[closed.length].startMs - closed[closed.length - 1].endMs < MERGE_GAP_MS) {
    closed.pop();
  }
  for (const w of windows(closed)) {
    const from = Math.max(st.tailStartMs, w.startMs - PAD_MS);
    const to = Math.min(tailEndMs, w.endMs + PAD_MS);
    const wav = path.join(workdir, `window-${st.sp.key}.wav`);
    await writeFile(wav, wavFile(st.tail.subarray(Math.round(((from - st.tailStartMs) * SPEECH_SAMPLE_RATE) / 1000), Math.round(((to - st.tailStartMs) * SPEECH_SAMPLE_RATE) / 1000)), SPEECH_SAMPLE_RATE));
    const words = await deps.engine.transcribe(wav, { timeoutMs: engineTimeoutMs(deps.timeoutMs, to - from) });
    st.live.words.push(...words.map((x) => ({ word: x.word, startMs: x.startMs + from, endMs: x.endMs + from })));
  }
  if (final) st.live.committedMs = tailEndMs;
  else if (closed.length > 0) st.live.committedMs = closed[closed.length - 1].endMs + VAD.bridgeMs / 2;
  st.live.done = final;
  st.live.readMs = tailEndMs;
  await writeLiveWords(store, st.sp.key, st.live);
}
