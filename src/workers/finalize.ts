import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Job } from 'bullmq';
import type { FinalizeJob } from '../contracts/jobs';
import type { LiveArchiveStatus } from '../contracts/live-archive';
import type { Manifest } from '../contracts/manifest';
import { rel } from '../contracts/recording-files';
import { SpeakerTimeline } from '../contracts/replay-data';
import { runFfmpeg } from '../shared/ffmpeg';
import { CPU_PARALLELISM, mapPool } from '../shared/pool';
import { speechRegions, waveformPeaks } from './analysis';
import { readLiveArchive } from './archive/live-archive';
import { buildTimeline, MIX_ARCHIVE, MIX_FORMATS, SPEAKER_CODEC, WAVEFORM_BIN_MS } from './archive/outputs';
import { assembleChunks } from './assemble';
import { normaliseTo } from './loudness';
import { recordFile, runStage, StageContext, StageDeps } from './stage';

export type { SpeakerTimeline } from '../contracts/replay-data';

/** A live archive job that has not written for this long is gone (its heartbeat is 5 s). */
const STALE_MS = 20_000;

/**
 * The polished files of a finished recording: the mix normalised to −16 LUFS (Opus, M4A, MP3),
 * one Opus file per speaker spanning the whole recording (so they line up in any editor),
 * waveform peaks and the speaker timeline. Usually the live archive job has made them while the
 * room ran; otherwise (or if its files do not cover the final manifest) they are made here from
 * the chunks. Every output has a fixed key: a rerun overwrites.
 */
export async function finalize(deps: StageDeps & { waitLiveMs?: number }, data: FinalizeJob, job?: Job): Promise<SpeakerTimeline> {
  return runStage('finalize', deps, job, data, async (ctx) => {
    const live = await liveArchiveFor(ctx, deps.waitLiveMs ?? 15 * 60_000);
    if (live) {
      const timeline = await ctx.store.getJson(rel.speakerTimeline, SpeakerTimeline);
      if (timeline) {
        // Listed under the ids the table gives their keys.
        for (const relKey of Object.values(live.files)) recordFile(ctx.manifest.files, relKey);
        ctx.manifest.files.vod = rel.eventPlaylist;
        ctx.log.info({ recordingId: ctx.manifest.recordingId, loudness: live.loudness }, 'finalize: the live archive covers the recording');
        return timeline;
      }
      ctx.log.info({ recordingId: ctx.manifest.recordingId }, 'finalize: the live archive has no speaker timeline; making the files from the chunks');
    }
    return fromChunks(ctx);
  });
}

/** The live archive's result if it is (or, while it works on, becomes) complete for this manifest. */
async function liveArchiveFor(ctx: StageContext, waitMs: number): Promise<LiveArchiveStatus | null> {
  const until = Date.now() + waitMs;
  for (;;) {
    const st = await readLiveArchive(ctx.store);
    const skip = (why: string) => {
      ctx.log.info({ recordingId: ctx.manifest.recordingId, why }, 'finalize: making the files from the chunks');
      return null;
    };
    if (!st) return skip('no live archive');
    if (st.state === 'abandoned') return skip(`live archive abandoned: ${st.reason}`);
    if (st.state === 'complete') return covers(st, ctx.manifest) ? st : skip('the live archive does not cover the final manifest');
    if (Date.now() - Date.parse(st.updatedAt) > STALE_MS) return skip('the live archive job stopped');
    if (Date.now() > until) return skip('the live archive job is too far behind');
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The live files hold exactly the audio the manifest lists: same length, same chunks (index and size) per stream. */
function covers(st: LiveArchiveStatus, m: Manifest): boolean {
  // A chunk starting at or after the end holds nothing of the recording.
  const chunkMs = m.speakerFormat.chunkSeconds * 1000;
  const same = (name: string, chunks: Array<{ index: number; bytes: number }>) => {
    const want = chunks.filter((c) => c.index * chunkMs < m.durationMs).map((c) => `${c.index}:${c.bytes}`).sort();
    const got = (st.chunks[name] ?? []).map((k, i) => `${k}:${st.chunkBytes[name]?.[i]}`).sort();
    return got.length === want.length && got.every((v, i) => v === want[i]);
  };
  return st.durationMs === m.durationMs
    && Object.keys(st.chunks).length === m.speakers.length + 1
    && same('mix', m.mix.chunks)
    && m.speakers.every((sp) => same(sp.key, sp.chunks));
}

/** Everything from the chunks in S3, after the room. */
async function fromChunks(ctx: StageContext): Promise<SpeakerTimeline> {
  const m = ctx.manifest;
  const common = { store: ctx.store, chunkSeconds: m.speakerFormat.chunkSeconds, durationMs: m.durationMs, workdir: ctx.workdir };
  const mix = await assembleChunks({ ...common, chunks: m.mix.chunks, name: 'mix' });
  await ctx.progress(10);
  // The mix archives and the speakers' files are independent: make them side by side.
  const mixDone = (async () => {
    await normaliseTo(mix, MIX_FORMATS.map((e) => ({ file: path.join(ctx.workdir, `mix.${e}`), codec: [...MIX_ARCHIVE[e].codec] })));
    for (const e of MIX_FORMATS) {
      await ctx.put(rel.mixArchive(e), await readFile(path.join(ctx.workdir, `mix.${e}`)));
    }
    await ctx.progress(50);
  })();
  mixDone.catch(() => undefined); // awaited below; this only stops an early failure counting as unhandled

  let done = 0;
  const regions = await mapPool(m.speakers, CPU_PARALLELISM, async (sp, i) => {
    const flac = await assembleChunks({ ...common, chunks: sp.chunks, name: `speaker-${i}` });
    const opus = path.join(ctx.workdir, `speaker-${i}.opus`);
    const [found] = await Promise.all([
      speechRegions(flac),
      runFfmpeg(['-v', 'error', '-i', flac, ...SPEAKER_CODEC, '-y', opus]),
    ]);
    await ctx.put(rel.speakerFile(sp.key), await readFile(opus));
    await ctx.progress(50 + Math.round((40 * ++done) / Math.max(1, m.speakers.length)));
    return found;
  });
  await mixDone;
  const timeline = buildTimeline(m.speakers, regions);
  await ctx.put(rel.speakerTimeline, JSON.stringify(timeline));
  await ctx.put(rel.waveform, JSON.stringify({ binMs: WAVEFORM_BIN_MS, peaks: await waveformPeaks(mix, WAVEFORM_BIN_MS) }));
  m.files.vod = rel.eventPlaylist;
  return timeline;
}
