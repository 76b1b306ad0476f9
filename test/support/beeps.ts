import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { Parser } from 'm3u8-parser';
import { rel } from '../../src/contracts/layout';
import { Program, tone } from '../../src/demo/program';
import { SpeakerBot } from '../../src/demo/speaker-bot';
import { decode, findOnset } from './audio';
import { download, getText } from './s3';

/** A bot beeping 800 Hz for 100 ms every 500 ms: where a beep is missing, audio was lost. */
export const BEEP_HZ = 800;
export const beeps = (untilMs: number, fromMs = 1000) => Array.from({ length: Math.floor((untilMs - fromMs) / 500) }, (_, i) => fromMs + i * 500);

export function beeper(env: Record<string, string>, room: string, epoch: number, times: number[], who = { identity: 'beeper', freq: BEEP_HZ }): SpeakerBot {
  return new SpeakerBot(
    { url: env.LIVEKIT_URL, apiKey: env.LIVEKIT_API_KEY, apiSecret: env.LIVEKIT_API_SECRET, room, identity: who.identity, name: who.identity, dtx: false },
    new Program(times.map((atMs) => ({ atMs, pcm: tone(who.freq, 100, -12) }))),
    epoch,
  );
}

/** Downloads the VOD playlist and its segments, checks it ended, and decodes the mix (FFmpeg reads the playlist). */
export async function decodeVod(s3: S3Client, bucket: string, prefix: string): Promise<{ mix: Float32Array; segments: number; discontinuities: number; uris: string[] }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-vod-'));
  const text = (await getText(s3, bucket, prefix + rel.eventPlaylist))!;
  const p = new Parser();
  p.push(text);
  p.end();
  if (!p.manifest.endList) throw new Error('the VOD playlist has no EXT-X-ENDLIST');
  writeFileSync(path.join(dir, 'index.m3u8'), text);
  await download(s3, bucket, prefix + rel.hlsInit, path.join(dir, path.basename(rel.hlsInit)));
  for (const s of p.manifest.segments) await download(s3, bucket, prefix + 'hls/' + s.uri, path.join(dir, s.uri));
  const uris = p.manifest.segments.map((s: { uri: string }) => s.uri);
  const discontinuities = p.manifest.segments.filter((s: { discontinuity?: boolean }) => s.discontinuity).length;
  return { mix: decode(path.join(dir, 'index.m3u8')), segments: uris.length, discontinuities, uris };
}

/**
 * The beeps (script times) not where they belong in decoded audio. `offsetMs` places script time
 * on the recording's timeline (bot epoch − recording start); the first beep heard within 300 ms of
 * that fixes the pipeline's delay, and every other must start within ±toleranceMs of its place.
 * `skip` leaves out beeps in known gaps.
 */
export function missingBeeps(mix: Float32Array, times: number[], offsetMs: number, skip: (t: number) => boolean = () => false, toleranceMs = 40, freq = BEEP_HZ, floor = 0.01): number[] {
  const kept = times.filter((t) => !skip(t));
  let delay: number | null = null;
  for (const t of kept) {
    const at = findOnset(mix, freq, t + offsetMs - 300, t + offsetMs + 300, floor);
    if (at !== null) {
      delay = at - (t + offsetMs);
      break;
    }
  }
  if (delay === null) return kept;
  const missing: number[] = [];
  for (const t of kept) {
    const want = t + offsetMs + delay;
    const got = findOnset(mix, freq, want - Math.max(150, toleranceMs + 50), want + Math.max(150, toleranceMs + 50), floor);
    if (got === null || Math.abs(got - want) > toleranceMs) missing.push(t);
  }
  return missing;
}
