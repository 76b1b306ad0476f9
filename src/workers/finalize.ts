import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Job } from 'bullmq';
import { rel } from '../contracts/layout';
import type { FinalizeJob } from '../contracts/jobs';
import { runFfmpeg } from '../shared/ffmpeg';
import { CPU_PARALLELISM, mapPool } from '../shared/pool';
import { speechRegions, waveformPeaks } from './analysis';
import { assembleChunks } from './assemble';
import { normaliseTo } from './loudness';
import { runStage, StageDeps } from './stage';

/** Who spoke when, from each speaker's own track: final/speakers.json. */
export interface SpeakerTimeline {
  speakers: Array<{ identity: string; name: string; key: string; talkMs: number; colour: string }>;
  turns: Array<{ speaker: string; startMs: number; endMs: number }>;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
// Same bytes for the same input: no random Ogg serials, no encoder version strings. Opus runs at
// complexity 5: for speech at these bitrates it sounds the same and encodes 4× faster than 10.
const EXACT = ['-fflags', '+bitexact', '-flags:a', '+bitexact', '-map_metadata', '-1'];

/**
 * The polished files of a finished recording: the mix normalised to −16 LUFS (Opus, M4A, MP3),
 * one Opus file per speaker spanning the whole recording (so they line up in any editor),
 * waveform peaks and the speaker timeline. Every output has a fixed key: a rerun overwrites.
 */
export async function finalize(deps: StageDeps, data: FinalizeJob, job?: Job): Promise<SpeakerTimeline> {
  return runStage('finalize', deps, job, data.manifestKey, async (ctx) => {
    const m = ctx.manifest;
    const common = { s3: ctx.s3, bucket: ctx.bucket, prefix: ctx.prefix, chunkSeconds: m.speakerFormat.chunkSeconds, durationMs: m.durationMs, workdir: ctx.workdir };
    const mix = await assembleChunks({ ...common, chunks: m.mix.chunks, name: 'mix' });
    await ctx.progress(10);

    const archive = {
      opus: { codec: ['-c:a', 'libopus', '-b:a', '48k', '-compression_level', '5', ...EXACT], type: 'audio/ogg' },
      m4a: { codec: ['-c:a', 'aac', '-b:a', '96k', '-movflags', '+faststart', ...EXACT], type: 'audio/mp4' },
      mp3: { codec: ['-c:a', 'libmp3lame', '-b:a', '96k', '-id3v2_version', '0', ...EXACT], type: 'audio/mpeg' },
    } as const;
    const exts = Object.keys(archive) as Array<keyof typeof archive>;
    // The mix archives and the speakers' files are independent: make them side by side.
    const mixDone = (async () => {
      await normaliseTo(mix, exts.map((e) => ({ file: path.join(ctx.workdir, `mix.${e}`), codec: [...archive[e].codec] })));
      for (const e of exts) {
        await ctx.put(`mix.${e}`, rel.mixArchive(e), await readFile(path.join(ctx.workdir, `mix.${e}`)), archive[e].type);
      }
      await ctx.progress(50);
    })();
    mixDone.catch(() => undefined); // awaited below; this only stops an early failure counting as unhandled

    const timeline: SpeakerTimeline = { speakers: [], turns: [] };
    let done = 0;
    const perSpeaker = await mapPool(m.speakers, CPU_PARALLELISM, async (sp, i) => {
      const flac = await assembleChunks({ ...common, chunks: sp.chunks, name: `speaker-${i}` });
      const opus = path.join(ctx.workdir, `speaker-${i}.opus`);
      const [regions] = await Promise.all([
        speechRegions(flac),
        runFfmpeg(['-v', 'error', '-i', flac, '-c:a', 'libopus', '-b:a', '32k', '-compression_level', '5', ...EXACT, '-y', opus]),
      ]);
      await ctx.put(`speaker.${sp.key}`, rel.speakerFile(sp.key), await readFile(opus), 'audio/ogg');
      await ctx.progress(50 + Math.round((40 * ++done) / Math.max(1, m.speakers.length)));
      return regions;
    });
    await mixDone;
    m.speakers.forEach((sp, i) => {
      const regions = perSpeaker[i];
      timeline.speakers.push({
        identity: sp.identity,
        name: sp.name,
        key: sp.key,
        talkMs: regions.reduce((n, r) => n + r.endMs - r.startMs, 0),
        colour: COLOURS[i % COLOURS.length],
      });
      for (const r of regions) timeline.turns.push({ speaker: sp.identity, ...r });
    });
    timeline.turns.sort((a, b) => a.startMs - b.startMs || a.speaker.localeCompare(b.speaker));
    await ctx.put('speakerTimeline', rel.speakerTimeline, JSON.stringify(timeline), 'application/json');
    const binMs = 50;
    await ctx.put('waveform', rel.waveform, JSON.stringify({ binMs, peaks: await waveformPeaks(mix, binMs) }), 'application/json');
    m.files.vod = rel.eventPlaylist;
    return timeline;
  });
}
