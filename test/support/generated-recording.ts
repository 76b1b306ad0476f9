import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { recordingPrefix, rel } from '../../src/contracts/layout';
import type { FinalizeJob } from '../../src/contracts/jobs';
import type { ChunkEntry, Manifest } from '../../src/contracts/manifest';
import { loadAudio } from '../../src/demo/program';
import { FlacChunkEncoder, loadFlac } from '../../src/ingest/outputs/flac-encoder';
import { SAMPLE_RATE } from '../../src/contracts/audio';
import { log } from '../../src/shared/log';
import { RecordingStore } from '../../src/storage/recording-store';

export const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';
export const GENERATED_SPEAKERS = ['ann', 'ben', 'cat'];

export const librivoxClips = (): Int16Array[] =>
  readFileSync(`${LIBRIVOX}/fileids`, 'utf8').split('\n').filter(Boolean).map((id) => loadAudio(`${LIBRIVOX}/${id}.wav`));

/**
 * An N-minute recording as ingest writes it (mix + three speakers taking turns reading the LibriVox
 * clips, as FLAC chunks, and the manifest), made up front and put in S3 a chunk at a time with
 * `publish`, so a caller can play a live room at any speed.
 */
export async function generateRecording(o: { s3: S3Client; bucket: string; minutes: number; clips: Int16Array[]; chunkSeconds?: number; gainDb?: number }) {
  const chunkS = o.chunkSeconds ?? 10;
  const total = Math.round(o.minutes * 60 * SAMPLE_RATE);
  const durationMs = Math.round(o.minutes * 60_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-gen-'));
  const recordingId = `20260101T000000Z-RM_gen${Date.now() % 1_000_000}`;
  const room = 'generated';
  const prefix = recordingPrefix(room, recordingId);
  const streams = ['mix', ...GENERATED_SPEAKERS];
  await loadFlac();
  const encoders = streams.map((name) => new FlacChunkEncoder({
    name, dir: path.join(dir, name), fileName: (i) => `chunk_${String(i).padStart(6, '0')}.flac`,
    chunkSamples: chunkS * SAMPLE_RATE, startIndex: 0, log, onChunk: () => undefined,
  }));
  const gain = 10 ** ((o.gainDb ?? 0) / 20);
  let turn = 0, clipPos = 0;
  for (let pos = 0; pos < total; pos += SAMPLE_RATE) {
    const n = Math.min(SAMPLE_RATE, total - pos);
    const per = GENERATED_SPEAKERS.map(() => new Int16Array(n));
    for (let i = 0; i < n; i++) {
      const clip = o.clips[turn % o.clips.length];
      if (clipPos < clip.length) per[turn % 3][i] = Math.max(-32768, Math.min(32767, Math.round(clip[clipPos] * gain)));
      if (++clipPos >= clip.length + SAMPLE_RATE / 2) { clipPos = 0; turn++; }
    }
    const mix = new Int16Array(n);
    for (let i = 0; i < n; i++) mix[i] = per[0][i] + per[1][i] + per[2][i];
    encoders[0].write(mix);
    per.forEach((p, k) => encoders[k + 1].write(p));
    if (pos % (SAMPLE_RATE * 30) === 0) await new Promise((r) => setImmediate(r));
  }
  await Promise.all(encoders.map((e) => e.close()));

  const now = new Date().toISOString();
  const manifest: Manifest = {
    version: 1, room, roomSid: 'RM_gen', recordingId, status: 'recording', stopReason: null, continues: null, continuedBy: null, visibility: 'public', startedAt: now, endedAt: null, updatedAt: now,
    durationMs: 0, sampleRate: SAMPLE_RATE,
    hls: { eventPlaylist: rel.eventPlaylist, livePlaylist: rel.livePlaylist, segmentSeconds: 2, codec: 'mp4a.40.2', bitrateKbps: 64, segments: 0, bytes: 0, ended: false },
    speakerFormat: { codec: 'flac', chunkSeconds: chunkS },
    mix: { chunks: [] },
    speakers: GENERATED_SPEAKERS.map((id) => ({ identity: id, name: id, key: id, joinedMs: 0, firstAudioMs: 0, lastAudioMs: 0, chunks: [] })),
    gaps: [], files: {}, processing: {}, error: null,
  };
  const chunkCount = Math.ceil(durationMs / (chunkS * 1000));
  const job: FinalizeJob = { room, recordingId, manifestKey: prefix + rel.manifest };
  let published = 0;
  return {
    job,
    prefix,
    manifest,
    chunkCount,
    durationMs,
    /** Puts chunks [published, upTo) of every stream in S3 and the manifest; ends the recording if asked. */
    async publish(upTo: number, end = false, skip: (stream: string, index: number) => boolean = () => false) {
      for (; published < Math.min(upTo, chunkCount); published++) {
        const k = published;
        const entry = (key: string, body: Buffer): ChunkEntry => ({ index: k, key, startMs: k * chunkS * 1000, durationMs: Math.min(chunkS * 1000, durationMs - k * chunkS * 1000), bytes: body.length });
        const put = async (stream: string, key: string) => {
          if (skip(stream, k)) return null;
          const body = readFileSync(path.join(dir, stream, `chunk_${String(k).padStart(6, '0')}.flac`));
          await o.s3.send(new PutObjectCommand({ Bucket: o.bucket, Key: prefix + key, Body: body }));
          return entry(key, body);
        };
        const mixChunk = await put('mix', rel.mixChunk(k));
        if (mixChunk) manifest.mix.chunks.push(mixChunk);
        for (const sp of manifest.speakers) {
          const c = await put(sp.key, rel.speakerChunk(sp.key, k));
          if (c) sp.chunks.push(c);
        }
      }
      manifest.durationMs = Math.min(durationMs, published * chunkS * 1000);
      manifest.updatedAt = new Date().toISOString();
      if (end) {
        Object.assign(manifest, { status: 'finalizing', endedAt: manifest.updatedAt, durationMs });
        manifest.hls.ended = true;
        for (const sp of manifest.speakers) sp.lastAudioMs = durationMs;
      }
      await RecordingStore.of(o.s3, o.bucket, room, recordingId).writeManifest(manifest);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
