import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Job, UnrecoverableError } from 'bullmq';
import type { z } from 'zod';
import type { FinalizeJob } from '../contracts/jobs';
import { canTransition, transition } from '../contracts/lifecycle';
import { rel } from '../contracts/recording-files';
import { fromReplayPage, ReplayData, replayDownloads, SpeakerTimeline, Transcript, Waveform } from '../contracts/replay-data';
import { runStage, StageDeps } from './stage';

/** The page's static files: built into dist/player/replay, or read from src/ under ts-jest. */
const ASSETS = path.resolve(__dirname, '..', 'player', 'replay');
const HLS_JS = require.resolve('hls.js/dist/hls.min.js');

/**
 * The replay page, static and self-contained under replay/: it reads data.json and reaches every
 * file by a relative URL, so the api, S3 or a CDN can serve it. A missing transcript leaves the
 * page working, with the reason shown. Publishing completes the recording.
 */
export async function publish(deps: StageDeps, data: FinalizeJob, job?: Job): Promise<string> {
  return runStage('publish', deps, job, data, async (ctx) => {
    const { store, manifest: m } = ctx;
    // In the flow, publish only runs without a finalized recording when finalize failed for good.
    if (m.processing.finalize?.status !== 'done') throw new UnrecoverableError('finalize has not completed; nothing to publish');
    if (!canTransition(m.status, 'complete')) throw new UnrecoverableError(`a ${m.status} recording cannot be published`);
    const timeline = await store.getJson(rel.speakerTimeline, SpeakerTimeline);
    if (!timeline) throw new Error(`no ${rel.speakerTimeline}, though finalize is done`);
    // Missing or unreadable, the page goes without (an S3 error is thrown: the job is tried again).
    const optional = async <T>(relKey: string, schema: z.ZodType<T>): Promise<T | null> => {
      const text = await store.getText(relKey);
      if (text === null) return null;
      try {
        return schema.parse(JSON.parse(text));
      } catch {
        return null;
      }
    };
    const waveform = await optional(rel.waveform, Waveform);
    const transcriptOk = m.processing.transcribe?.status === 'done';
    const transcript = transcriptOk ? await optional(rel.transcript('json'), Transcript) : null;
    const page: ReplayData = ReplayData.parse({
      room: m.room,
      recordingId: m.recordingId,
      startedAt: m.startedAt,
      durationMs: m.durationMs,
      hls: fromReplayPage(rel.eventPlaylist),
      vtt: transcript ? fromReplayPage(rel.transcript('vtt')) : null,
      speakers: timeline.speakers,
      turns: timeline.turns,
      waveform: waveform ?? { binMs: 50, peaks: [] },
      transcript,
      transcriptError: transcript ? null : transcriptOk ? 'the transcript cannot be read' : m.processing.transcribe?.error ?? 'not transcribed',
      downloads: replayDownloads({ speakers: timeline.speakers, transcript: !!transcript }),

    });
    await ctx.put(rel.replayData, JSON.stringify(page));
    for (const file of ['replay.js', 'replay.css'] as const) await ctx.put(rel.replayAsset(file), await readFile(path.join(ASSETS, file)));
    await ctx.put(rel.replayAsset('hls.min.js'), await readFile(HLS_JS));
    // The page last: once it is listed, the replay is ready.
    await ctx.put(rel.replayPage, await readFile(path.join(ASSETS, 'index.html')));
    transition(m, 'complete');
    return rel.replayPage;
  });
}
