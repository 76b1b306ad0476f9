import { GetObjectCommand } from '@aws-sdk/client-s3';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Job } from 'bullmq';
import { rel } from '../contracts/layout';
import type { FinalizeJob } from '../contracts/jobs';
import type { SpeakerTimeline } from './finalize';
import { runStage, StageDeps } from './stage';
import type { Transcript } from './transcribe/formats';

/** The page's static files: built into dist/player/replay, or read from src/ under ts-jest. */
const ASSETS = path.resolve(__dirname, '..', 'player', 'replay');
const HLS_JS = require.resolve('hls.js/dist/hls.min.js');

/**
 * The replay page, static and self-contained under replay/: it reads data.json and reaches every
 * file by a relative URL, so the api, S3 or a CDN can serve it. A missing transcript leaves the
 * page working, with the reason shown.
 */
export async function publish(deps: StageDeps, data: FinalizeJob, job?: Job): Promise<string> {
  return runStage('publish', deps, job, data.manifestKey, async (ctx) => {
    const m = ctx.manifest;
    if (m.processing.finalize?.status !== 'done') throw new Error('finalize has not completed; nothing to publish');
    const getJson = async <T>(key: string): Promise<T | null> => {
      try {
        const o = await ctx.s3.send(new GetObjectCommand({ Bucket: ctx.bucket, Key: ctx.prefix + key }));
        return JSON.parse(await o.Body!.transformToString()) as T;
      } catch {
        return null;
      }
    };
    const timeline = (await getJson<SpeakerTimeline>(rel.speakerTimeline))!;
    const waveform = await getJson<{ binMs: number; peaks: number[] }>(rel.waveform);
    const transcriptOk = m.processing.transcribe?.status === 'done';
    const transcript = transcriptOk ? await getJson<Transcript>(rel.transcript('json')) : null;
    const up = (key: string) => `../${key}`;
    const downloads = [
      { label: 'Mix (Opus)', href: up(rel.mixArchive('opus')), type: 'audio/ogg' },
      { label: 'Mix (M4A)', href: up(rel.mixArchive('m4a')), type: 'audio/mp4' },
      { label: 'Mix (MP3)', href: up(rel.mixArchive('mp3')), type: 'audio/mpeg' },
      ...timeline.speakers.map((s) => ({ label: `${s.name} (Opus)`, href: up(rel.speakerFile(s.key)), type: 'audio/ogg', hostOnly: true })),
      ...(transcript
        ? [
            { label: 'Transcript (JSON)', href: up(rel.transcript('json')), type: 'application/json' },
            { label: 'Transcript (WebVTT)', href: up(rel.transcript('vtt')), type: 'text/vtt' },
            { label: 'Transcript (SRT)', href: up(rel.transcript('srt')), type: 'application/x-subrip' },
            { label: 'Transcript (text)', href: up(rel.transcript('txt')), type: 'text/plain' },
          ]
        : []),
    ];
    const page = {
      room: m.room,
      recordingId: m.recordingId,
      startedAt: m.startedAt,
      durationMs: m.durationMs,
      hls: up(rel.eventPlaylist),
      vtt: transcript ? up(rel.transcript('vtt')) : null,
      speakers: timeline.speakers,
      turns: timeline.turns,
      waveform: waveform ?? { binMs: 50, peaks: [] },
      transcript,
      transcriptError: transcriptOk ? null : m.processing.transcribe?.error ?? 'not transcribed',
      downloads,
    };
    await ctx.put('replay.data', rel.replayData, JSON.stringify(page), 'application/json');
    for (const [file, type] of [['replay.js', 'text/javascript; charset=utf-8'], ['replay.css', 'text/css; charset=utf-8']] as const) {
      await ctx.put(`replay.${file}`, `replay/${file}`, await readFile(path.join(ASSETS, file)), type);
    }
    await ctx.put('replay.hls', 'replay/hls.min.js', await readFile(HLS_JS), 'text/javascript; charset=utf-8');
    await ctx.put('replay', rel.replayPage, await readFile(path.join(ASSETS, 'index.html')), 'text/html; charset=utf-8');
    m.status = 'complete';
    return rel.replayPage;
  });
}
