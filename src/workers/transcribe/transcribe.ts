import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Job } from 'bullmq';
import { SPEECH_SAMPLE_RATE } from '../../contracts/audio';
import type { FinalizeJob } from '../../contracts/jobs';
import { rel, type TranscriptFormat } from '../../contracts/recording-files';
import { runFfmpeg } from '../../shared/ffmpeg';
import { metrics } from '../../shared/metrics';
import { CPU_PARALLELISM, mapPool } from '../../shared/pool';
import type { RecordingStore } from '../../storage/recording-store';
import type { SpeakerTimeline } from '../archive/outputs';
import { runStage, StageDeps } from '../stage';
import type { TranscriptionEngine, Word } from './engine';
import { segmentWords, toSrt, toText, toVtt, Transcript } from './formats';
import { LiveWords, readLiveWords } from './live-words';
import { engineTimeoutMs, PAD_MS, windows } from './windows';

/** Shared with live transcription (./windows.ts); exported here too for existing importers. */
export { MERGE_GAP_MS, windows } from './windows';

/** Live transcription's words for a speaker, once it has finished (waits a little if it is finishing). */
async function waitForLive(store: RecordingStore, speakerKey: string): Promise<LiveWords | null> {
  const end = Date.now() + 20_000;
  for (;;) {
    const live = await readLiveWords(store, speakerKey);
    if (!live || live.done || Date.now() > end) return live;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Each speaker's own track, cut into speech regions, transcribed region by region: the speaker of
 * every word is known, nothing is guessed. Segments of all speakers are merged by time.
 */
export async function transcribe(
  deps: StageDeps & { engine: TranscriptionEngine; timeoutMs: number },
  data: FinalizeJob,
  job?: Job,
): Promise<Transcript> {
  return runStage('transcribe', deps, job, data, async (ctx) => {
    const { store } = ctx;
    const timeline = await store.getJson<SpeakerTimeline>(rel.speakerTimeline);
    if (!timeline) throw new Error('no speaker timeline (final/speakers.json): finalize has not completed');
    const transcript: Transcript = { version: '1.0.0', segments: [] };
    let audioMs = 0;
    let engineMs = 0;
    // Every window of every speaker is independent: run them across the CPU's cores.
    // What live transcription already did is kept; only speech after its commit point is left.
    const jobs: Array<{ speaker: number; startMs: number; endMs: number }> = [];
    const live: Array<LiveWords | null> = [];
    for (const [i, sp] of timeline.speakers.entries()) {
      live[i] = await waitForLive(store, sp.key);
      const after = live[i]?.committedMs ?? 0;
      const left = timeline.turns
        .filter((t) => t.speaker === sp.identity && t.endMs > after)
        .map((t) => ({ startMs: Math.max(t.startMs, after), endMs: t.endMs }));
      if (left.length > 0) {
        const opus = await store.getBytes(rel.speakerFile(sp.key));
        if (!opus) throw new Error(`no ${rel.speakerFile(sp.key)}: finalize has not completed`);
        await writeFile(path.join(ctx.workdir, `speaker-${i}.opus`), opus);
      }
      for (const w of windows(left)) jobs.push({ speaker: i, ...w });
    }
    let done = 0;
    const results = await mapPool(jobs, CPU_PARALLELISM, async (w, j) => {
      const from = Math.max(0, w.startMs - PAD_MS);
      const lengthMs = w.endMs + PAD_MS - from;
      const wav = path.join(ctx.workdir, `w${j}.wav`);
      await runFfmpeg(['-v', 'error', '-ss', (from / 1000).toFixed(3), '-t', (lengthMs / 1000).toFixed(3), '-i', path.join(ctx.workdir, `speaker-${w.speaker}.opus`), '-ac', '1', '-ar', String(SPEECH_SAMPLE_RATE), '-c:a', 'pcm_s16le', '-y', wav]);
      const t0 = performance.now();
      const got = await deps.engine.transcribe(wav, { timeoutMs: engineTimeoutMs(deps.timeoutMs, lengthMs) });
      engineMs += performance.now() - t0;
      audioMs += lengthMs;
      await ctx.progress(Math.round((90 * ++done) / jobs.length));
      return got.map((x) => ({ word: x.word, startMs: x.startMs + from, endMs: x.endMs + from }));
    });
    for (const [i, sp] of timeline.speakers.entries()) {
      const words: Word[] = [...(live[i]?.words ?? []), ...results.filter((_, j) => jobs[j].speaker === i).flat()];
      transcript.segments.push(...segmentWords(sp.name, words, sp.identity));
    }
    transcript.segments.sort((a, b) => a.startTime - b.startTime);
    if (audioMs > 0) metrics.transcriptionRtf.observe({ engine: deps.engine.name }, engineMs / audioMs);
    // Every transcript format of the table of recording files (a new one there fails to compile here until it is made).
    const body: Record<TranscriptFormat, string> = {
      json: JSON.stringify(transcript, null, 1),
      vtt: toVtt(transcript),
      srt: toSrt(transcript),
      txt: toText(transcript),
    };
    for (const [ext, text] of Object.entries(body) as Array<[TranscriptFormat, string]>) await ctx.put(rel.transcript(ext), text);
    deps.log.info({ engine: deps.engine.name, rtf: audioMs ? engineMs / audioMs : 0, segments: transcript.segments.length }, 'transcribed');
    return transcript;
  });
}
