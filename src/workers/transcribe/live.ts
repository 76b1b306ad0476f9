import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Job } from 'bullmq';
import { rel } from '../../contracts/layout';
import type { FinalizeJob } from '../../contracts/jobs';
import type { SpeakerEntry } from '../../contracts/manifest';
import { decodePcm } from '../../shared/ffmpeg';
import { CPU_PARALLELISM, mapPool } from '../../shared/pool';
import { concatPcm, wavFile } from '../../shared/wav';
import { readManifest } from '../../storage/manifest-io';
import { FrameActivity, regionsFrom, VAD } from '../analysis';
import type { StageDeps } from '../stage';
import type { TranscriptionEngine, Word } from './engine';
import { MERGE_GAP_MS, windows } from './transcribe';

const RATE = 16_000;
const PAD_MS = 250;

/** What live transcription has done for one speaker: every word before committedMs. */
export interface LiveWords {
  committedMs: number;
  words: Word[];
  /** How far the speaker's audio has been read (ms of the timeline). */
  readMs: number;
  /** The recording had ended when this was written: nothing more will come. */
  done: boolean;
}

interface SpeakerState {
  sp: SpeakerEntry;
  live: LiveWords;
  nextChunk: number;
  /** Undecided audio (16 kHz) from tailStartMs on. */
  tail: Int16Array;
  tailStartMs: number;
}

/**
 * Transcribes while the room is live, so little is left when it ends: each speaker's FLAC chunks
 * are read as they land, speech regions that are over (followed by a pause) are transcribed, and
 * the words so far are kept in S3 (transcript/live/{speaker}.json). A restarted job resumes from
 * what was committed. The transcribe stage then only does what comes after committedMs.
 */
export async function transcribeLive(
  deps: StageDeps & { engine: TranscriptionEngine; timeoutMs: number; pollMs?: number },
  data: FinalizeJob,
  job?: Job,
): Promise<{ speakers: number; words: number }> {
  const prefix = data.manifestKey.replace(/manifest\.json$/, '');
  const states = new Map<string, SpeakerState>();
  const workdir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-live-'));
  let n = 0;
  try {
    for (;;) {
      const m = await readManifest(deps.s3, deps.bucket, data.manifestKey);
      const ended = !!m && m.status !== 'recording';
      // Speakers side by side (one engine process per core); each a chunk at a time, so the
      // undecided tail stays short even when catching up with a long room.
      await mapPool(m?.speakers ?? [], CPU_PARALLELISM, async (sp) => {
        const chunkMs = m!.speakerFormat.chunkSeconds * 1000;
        let st = states.get(sp.identity);
        if (!st) {
          const live = (await readLive(deps, prefix + rel.liveWords(sp.key))) ?? { committedMs: (sp.chunks[0]?.index ?? 0) * chunkMs, readMs: 0, words: [], done: false };
          const first = Math.floor(live.committedMs / chunkMs);
          st = { sp, live, nextChunk: first, tail: new Int16Array(0), tailStartMs: first * chunkMs };
          states.set(sp.identity, st);
        }
        st.sp = sp;
        for (const c of sp.chunks.filter((x) => x.index >= st.nextChunk).sort((a, b) => a.index - b.index)) {
          // A missing chunk (a gap) is silence in place; a short one (cut by a crash) is padded.
          const gap = (c.index - st.nextChunk) * chunkMs * (RATE / 1000);
          const file = path.join(workdir, `c${n++}.flac`);
          const obj = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: prefix + c.key }));
          await writeFile(file, await obj.Body!.transformToByteArray());
          const parts: Int16Array[] = [st.tail, new Int16Array(gap)];
          let samples = 0;
          await decodePcm(file, RATE, (p) => {
            parts.push(Int16Array.from(p));
            samples += p.length;
          });
          parts.push(new Int16Array(Math.max(0, (chunkMs * RATE) / 1000 - samples)));
          await rm(file, { force: true });
          st.tail = concatPcm(parts);
          st.nextChunk = c.index + 1;
          await advance(deps, workdir, prefix, st, false);
        }
        if (ended && !st.live.done) await advance(deps, workdir, prefix, st, true);
      });
      await job?.updateProgress(m ? Math.min(99, Math.round(m.durationMs / 60_000)) : 0);
      if (ended) break;
      await new Promise((r) => setTimeout(r, deps.pollMs ?? 3000));
    }
  } finally {
    await rm(workdir, { recursive: true, force: true });
  }
  return { speakers: states.size, words: [...states.values()].reduce((a, s) => a + s.live.words.length, 0) };
}

/** Transcribes the speech regions of the tail that are over, and commits up to them. */
async function advance(deps: StageDeps & { engine: TranscriptionEngine; timeoutMs: number }, workdir: string, prefix: string, st: SpeakerState, final: boolean) {
  // Drop what is already committed (frame-aligned, so activity frames stay on the 20 ms grid).
  const skip = Math.max(0, Math.floor(((st.live.committedMs - st.tailStartMs) * RATE) / 1000 / 320) * 320);
  if (skip > 0) {
    st.tail = st.tail.slice(Math.min(skip, st.tail.length));
    st.tailStartMs += (skip / RATE) * 1000;
  }
  const act = new FrameActivity();
  act.push(st.tail);
  const tailEndMs = st.tailStartMs + (st.tail.length / RATE) * 1000;
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
    await writeFile(wav, wavFile(st.tail.subarray(Math.round(((from - st.tailStartMs) * RATE) / 1000), Math.round(((to - st.tailStartMs) * RATE) / 1000)), RATE));
    const words = await deps.engine.transcribe(wav, { timeoutMs: Math.min(deps.timeoutMs, 30_000 + (to - from) * 5) });
    st.live.words.push(...words.map((x) => ({ word: x.word, startMs: x.startMs + from, endMs: x.endMs + from })));
  }
  if (final) st.live.committedMs = tailEndMs;
  else if (closed.length > 0) st.live.committedMs = closed[closed.length - 1].endMs + VAD.bridgeMs / 2;
  st.live.done = final;
  st.live.readMs = tailEndMs;
  await deps.s3.send(new PutObjectCommand({ Bucket: deps.bucket, Key: prefix + rel.liveWords(st.sp.key), Body: JSON.stringify(st.live), ContentType: 'application/json' }));
}

export async function readLive(deps: StageDeps, key: string): Promise<LiveWords | null> {
  try {
    const obj = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key }));
    return JSON.parse(await obj.Body!.transformToString()) as LiveWords;
  } catch {
    return null;
  }
}
