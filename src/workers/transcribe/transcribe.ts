import { GetObjectCommand } from '@aws-sdk/client-s3';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Job } from 'bullmq';
import { rel } from '../../contracts/layout';
import type { FinalizeJob } from '../../contracts/jobs';
import { runFfmpeg } from '../../shared/ffmpeg';
import { metrics } from '../../shared/metrics';
import { CPU_PARALLELISM, mapPool } from '../../shared/pool';
import type { SpeakerTimeline } from '../finalize';
import { runStage, StageDeps } from '../stage';
import type { TranscriptionEngine, Word } from './engine';
import { segmentWords, toSrt, toText, toVtt, Transcript } from './formats';
import { LiveWords, readLive } from './live';

/** Speech regions are sent to the engine in windows of at most this length. */
const WINDOW_MS = 30_000;
/** Audio kept around each window so the engine hears word edges. */
const PAD_MS = 250;

/** Live transcription's words for a speaker, once it has finished (waits a little if it is finishing). */
async function waitForLive(deps: StageDeps, key: string): Promise<LiveWords | null> {
  const end = Date.now() + 20_000;
  for (;;) {
    const live = await readLive(deps, key);
    if (!live || live.done || Date.now() > end) return live;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Regions closer than this go to the engine together (a sentence's pauses stay inside). */
export const MERGE_GAP_MS = 1500;

/** Joins a speaker's speech regions into windows of ≤ 30 s. */
export function windows(regions: Array<{ startMs: number; endMs: number }>): Array<{ startMs: number; endMs: number }> {
  const out: Array<{ startMs: number; endMs: number }> = [];
  for (const r of regions) {
    const last = out[out.length - 1];
    if (last && r.endMs - last.startMs <= WINDOW_MS && r.startMs - last.endMs < MERGE_GAP_MS) last.endMs = r.endMs;
    else {
      for (let s = r.startMs; s < r.endMs; s += WINDOW_MS) out.push({ startMs: s, endMs: Math.min(r.endMs, s + WINDOW_MS) });
    }
  }
  return out;
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
  return runStage('transcribe', deps, job, data.manifestKey, async (ctx) => {
    const get = async (key: string) =>
      (await ctx.s3.send(new GetObjectCommand({ Bucket: ctx.bucket, Key: ctx.prefix + key }))).Body!.transformToByteArray();
    const timeline = JSON.parse(Buffer.from(await get(rel.speakerTimeline)).toString()) as SpeakerTimeline;
    const transcript: Transcript = { version: '1.0.0', segments: [] };
    let audioMs = 0;
    let engineMs = 0;
    // Every window of every speaker is independent: run them across the CPU's cores.
    // What live transcription already did is kept; only speech after its commit point is left.
    const jobs: Array<{ speaker: number; startMs: number; endMs: number }> = [];
    const live: Array<LiveWords | null> = [];
    for (const [i, sp] of timeline.speakers.entries()) {
      live[i] = await waitForLive(deps, ctx.prefix + rel.liveWords(sp.key));
      const after = live[i]?.committedMs ?? 0;
      const left = timeline.turns
        .filter((t) => t.speaker === sp.identity && t.endMs > after)
        .map((t) => ({ startMs: Math.max(t.startMs, after), endMs: t.endMs }));
      if (left.length > 0) await writeFile(path.join(ctx.workdir, `speaker-${i}.opus`), await get(rel.speakerFile(sp.key)));
      for (const w of windows(left)) jobs.push({ speaker: i, ...w });
    }
    let done = 0;
    const results = await mapPool(jobs, CPU_PARALLELISM, async (w, j) => {
      const from = Math.max(0, w.startMs - PAD_MS);
      const lengthMs = w.endMs + PAD_MS - from;
      const wav = path.join(ctx.workdir, `w${j}.wav`);
      await runFfmpeg(['-v', 'error', '-ss', (from / 1000).toFixed(3), '-t', (lengthMs / 1000).toFixed(3), '-i', path.join(ctx.workdir, `speaker-${w.speaker}.opus`), '-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', '-y', wav]);
      const t0 = performance.now();
      const got = await deps.engine.transcribe(wav, { timeoutMs: Math.min(deps.timeoutMs, 30_000 + lengthMs * 5) });
      engineMs += performance.now() - t0;
      audioMs += lengthMs;
      await ctx.progress(Math.round((90 * ++done) / jobs.length));
      return got.map((x) => ({ word: x.word, startMs: x.startMs + from, endMs: x.endMs + from }));
    });
    for (const [i, sp] of timeline.speakers.entries()) {
      const words: Word[] = [...(live[i]?.words ?? []), ...results.filter((_, j) => jobs[j].speaker === i).flat()];
      transcript.segments.push(...segmentWords(sp.name, words));
    }
    transcript.segments.sort((a, b) => a.startTime - b.startTime);
    if (audioMs > 0) metrics.transcriptionRtf.observe({ engine: deps.engine.name }, engineMs / audioMs);
    await ctx.put('transcript.json', rel.transcript('json'), JSON.stringify(transcript, null, 1), 'application/json');
    await ctx.put('transcript.vtt', rel.transcript('vtt'), toVtt(transcript), 'text/vtt; charset=utf-8');
    await ctx.put('transcript.srt', rel.transcript('srt'), toSrt(transcript), 'application/x-subrip; charset=utf-8');
    await ctx.put('transcript.txt', rel.transcript('txt'), toText(transcript), 'text/plain; charset=utf-8');
    deps.log.info({ engine: deps.engine.name, rtf: audioMs ? engineMs / audioMs : 0, segments: transcript.segments.length }, 'transcribed');
    return transcript;
  });
}
