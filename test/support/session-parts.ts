import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { recordingPrefix, rel, safeKey } from '../../src/contracts/layout';
import { Manifest } from '../../src/contracts/manifest';
import { decode, findOnset } from './audio';
import { download, getText } from './s3';
import { type Burst, sleep } from './scenario';

/**
 * The recordings a LiveKit fault splits a room into (livekit-restart, livekit-nodes): where each
 * click of the script landed in one recording's file of its speaker, as ms from where the script put it.
 */
export async function clicksIn(
  s3: S3Client,
  bucket: string,
  m: Manifest,
  o: { speaker: string; clicks: Burst[]; epochMs: number },
): Promise<Array<{ atMs: number; errMs: number | null }>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-parts-'));
  try {
    const file = path.join(dir, `${o.speaker}.opus`);
    await download(s3, bucket, recordingPrefix(m.room, m.recordingId) + rel.speakerFile(o.speaker), file);
    const audio = decode(file);
    const startedAt = Date.parse(m.startedAt);
    return o.clicks
      .map((c) => ({ c, pos: o.epochMs + c.atMs - startedAt }))
      .filter(({ pos }) => pos > 0 && pos < m.durationMs - 200)
      .map(({ c, pos }) => {
        const onset = findOnset(audio, c.freq, pos - 300, pos + 400, 0.05);
        return { atMs: c.atMs, errMs: onset === null ? null : onset - pos };
      });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Each part's clicks on one clock: every click found, all within ±spreadMs of the part's median,
 * the median within 150 ms. The spread is the speaker's jitter buffer moving the audio: ±45 ms on
 * one LiveKit node (a rejoined track's first clicks settle 20–40 ms as its jitter buffer does,
 * README, Benchmarks); placement by arrival is issue 19.
 */
export function expectSteadyClicks(part: Array<{ errMs: number | null }>, spreadMs = 45): void {
  const errs = part.map((c) => c.errMs);
  expect(errs).not.toContain(null);
  const e = (errs as number[]).slice().sort((x, y) => x - y);
  const median = e[Math.floor(e.length / 2)];
  for (const x of e) expect(Math.abs(x - median)).toBeLessThanOrEqual(spreadMs);
  expect(Math.abs(median)).toBeLessThanOrEqual(150);
}

/** The clicks of a part as the test logs them. */
export const showClicks = (part: Array<{ errMs: number | null }>): string => part.map((c) => c.errMs?.toFixed(0) ?? 'missing').join(' ');

/**
 * Every recording of a room once each has settled (complete or failed), oldest first: waits until
 * there are at least `atLeast` and none is still recording or finalizing.
 */
export async function settledRecordings(s3: S3Client, bucket: string, room: string, o: { atLeast: number; timeoutMs: number }): Promise<Manifest[]> {
  const end = Date.now() + o.timeoutMs;
  let last: Manifest[] = [];
  for (;;) {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `index/rooms/${safeKey(room)}/` }));
    const ids = [...new Set((listed.Contents ?? []).map((c) => c.Key!.split('/')[4]))].sort();
    last = (await Promise.all(ids.map((id) => getText(s3, bucket, recordingPrefix(room, id) + rel.manifest).catch(() => null))))
      .filter((t): t is string => !!t)
      .map((t) => Manifest.parse(JSON.parse(t)));
    if (last.length >= o.atLeast && last.length === ids.length && last.every((m) => m.status === 'complete' || m.status === 'failed')) return last;
    if (Date.now() > end) throw new Error(`recordings of ${room} did not settle in ${o.timeoutMs} ms: ${last.map((m) => `${m.recordingId} ${m.status} ${JSON.stringify(m.processing)}`).join('; ') || 'none'}`);
    await sleep(500);
  }
}
