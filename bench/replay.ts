/**
 * Time from room end to replay page ready, split by stage, for recordings of N minutes; and the
 * transcription real-time factor and word error rate per engine on the LibriVox clips.
 *
 *   npx tsx bench/replay.ts [--minutes 1,10,60] [--engines sphinx,openai,whisper]
 *
 * The long recordings are generated (three speakers taking turns reading the LibriVox clips) and
 * written to the dev stack's S3 exactly as ingest writes them, then the workers' stages run here.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';
import { recordingPrefix, rel } from '../src/contracts/layout';
import { Manifest } from '../src/contracts/manifest';
import { loadAudio } from '../src/demo/program';
import { SegmentingEncoder } from '../src/ingest/encoder';
import { SAMPLE_RATE } from '../src/ingest/timeline';
import { log } from '../src/shared/log';
import { stackUp } from '../src/stack/stack';
import { stackAppEnv, stackSettings } from '../src/stack/settings';
import { makeS3Client } from '../src/storage/s3';
import { readManifest, writeManifest } from '../src/storage/manifest-io';
import { finalize } from '../src/workers/finalize';
import { publish } from '../src/workers/publish';
import { makeEngine } from '../src/workers/transcribe';
import { readLive, transcribeLive } from '../src/workers/transcribe/live';
import { transcribe } from '../src/workers/transcribe/transcribe';
import { wer, words } from '../test/support/wer';

const DATA = '/usr/share/pocketsphinx/test/data/librivox';
const CHUNK_S = 10;
const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '1,10' }, engines: { type: 'string', default: 'sphinx' }, 'finalize-only': { type: 'boolean', default: false } },
});
log.level = 'warn';

async function main() {
  const settings = stackSettings();
  await stackUp(settings);
  const cfg = loadConfig({ ...process.env, ...stackAppEnv(settings) });
  const s3 = makeS3Client(cfg);
  const clips = readFileSync(`${DATA}/fileids`, 'utf8').split('\n').filter(Boolean).map((id) => loadAudio(`${DATA}/${id}.wav`));

  console.log('\n## Room end → replay ready (sphinx), by stage');
  console.log('Live transcription first catches up with the whole room (as it does while a room runs; its');
  console.log('time is the "live" column), then the room ends and the flow runs.\n');
  console.log('| audio | live transcription (during room) | finalize | transcribe | publish | room end → replay ready |');
  console.log('|---|---|---|---|---|---|');
  for (const minutes of values.minutes!.split(',').map(Number)) {
    const rec = await generate(cfg, s3, minutes, clips);
    const deps = { s3, bucket: cfg.S3_BUCKET, log };
    if (values['finalize-only']) {
      const t = performance.now();
      await finalize(deps, rec);
      console.log(`| ${minutes} min | – | ${((performance.now() - t) / 1000).toFixed(1)} s | – | – | – |`);
      continue;
    }
    const engine = makeEngine({ ...cfg, TRANSCRIBE_ENGINE: 'sphinx' });
    const tl = performance.now();
    const live = transcribeLive({ ...deps, engine, timeoutMs: 600_000, pollMs: 200 }, rec);
    // Caught up: every speaker's audio has been read to the end.
    for (;;) {
      const states = await Promise.all(['ann', 'ben', 'cat'].map((k) => readLive(deps, recPrefix(rec) + rel.liveWords(k))));
      if (states.every((x) => x && x.readMs >= minutes * 60_000 - 1)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const liveMs = performance.now() - tl;
    const m = (await readManifest(s3, cfg.S3_BUCKET, rec.manifestKey))!;
    m.status = 'finalizing';
    await writeManifest(s3, cfg.S3_BUCKET, rec.manifestKey, m);
    const t0 = performance.now();
    await finalize(deps, rec);
    const t1 = performance.now();
    await transcribe({ ...deps, engine, timeoutMs: 600_000 }, rec);
    const t2 = performance.now();
    await publish(deps, rec);
    const t3 = performance.now();
    await live;
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(`| ${minutes} min | ${s(liveMs)} (${(liveMs / (minutes * 60_000)).toFixed(3)} × real time) | ${s(t1 - t0)} | ${s(t2 - t1)} | ${s(t3 - t2)} | ${s(t3 - t0)} |`);
  }

  console.log('\n## Engines on the LibriVox clips');
  console.log('| engine | audio | time | RTF | WER |');
  console.log('|---|---|---|---|---|');
  const refs = Object.fromEntries(readFileSync(`${DATA}/transcription`, 'utf8').split('\n').filter(Boolean).map((l) => {
    const m = /^<s> (.*) <\/s> \((.*)\)$/.exec(l.trim())!;
    return [m[2], m[1]];
  }));
  for (const name of values.engines!.split(',')) {
    try {
      const engine = makeEngine({ ...cfg, TRANSCRIBE_ENGINE: name as 'sphinx' });
      let audio = 0, time = 0, errors = 0, total = 0;
      for (const id of Object.keys(refs)) {
        const t = performance.now();
        const got = await engine.transcribe(`${DATA}/${id}.wav`, { timeoutMs: 120_000 });
        time += performance.now() - t;
        audio += (loadAudio(`${DATA}/${id}.wav`).length / SAMPLE_RATE) * 1000;
        const w = wer(words(refs[id]), words(got.map((x) => x.word).join(' ')));
        errors += w.errors;
        total += w.words;
      }
      console.log(`| ${name} | ${(audio / 1000).toFixed(1)} s | ${(time / 1000).toFixed(2)} s | ${(time / audio).toFixed(3)} | ${((100 * errors) / total).toFixed(1)} % |`);
    } catch (err) {
      console.log(`| ${name} | – | – | – | not run: ${(err as Error).message} |`);
    }
  }
  s3.destroy();
}

const recPrefix = (rec: { manifestKey: string }) => rec.manifestKey.replace(/manifest\.json$/, '');

/** Writes an N-minute recording (mix + three speakers as FLAC chunks, and its manifest) to S3. */
async function generate(cfg: ReturnType<typeof loadConfig>, s3: ReturnType<typeof makeS3Client>, minutes: number, clips: Int16Array[]) {
  const total = minutes * 60 * SAMPLE_RATE;
  const ids = ['ann', 'ben', 'cat'];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-bench-'));
  const recordingId = `20260101T000000Z-RM_bench${minutes}m${Date.now() % 100000}`;
  const room = 'bench';
  const prefix = recordingPrefix(room, recordingId);
  const streams = ['mix', ...ids];
  const encoders = streams.map((name) => new SegmentingEncoder({
    name, codec: ['-c:a', 'flac', '-frame_size', '4800'], format: 'flac', dir: path.join(dir, name),
    pattern: 'chunk_%06d.flac', segmentSeconds: CHUNK_S, startNumber: 0, log, onSegment: () => undefined,
  }));
  const block = SAMPLE_RATE;
  let turn = 0, clipPos = 0;
  for (let pos = 0; pos < total; pos += block) {
    const n = Math.min(block, total - pos);
    const per = ids.map(() => new Int16Array(n));
    for (let i = 0; i < n; i++) {
      const clip = clips[turn % clips.length];
      if (clipPos < clip.length) per[turn % 3][i] = clip[clipPos];
      if (++clipPos >= clip.length + SAMPLE_RATE / 2) { clipPos = 0; turn++; }
    }
    const mix = new Int16Array(n);
    for (let i = 0; i < n; i++) mix[i] = per[0][i] + per[1][i] + per[2][i];
    encoders[0].write(mix);
    per.forEach((p, k) => encoders[k + 1].write(p));
    if (pos % (SAMPLE_RATE * 30) === 0) await new Promise((r) => setImmediate(r));
  }
  await Promise.all(encoders.map((e) => e.close()));
  const chunksOf = async (name: string, keyOf: (i: number) => string) => {
    const files = readdirSync(path.join(dir, name)).sort();
    const out = [];
    for (const f of files) {
      const index = Number(/(\d+)/.exec(f)![1]);
      const body = readFileSync(path.join(dir, name, f));
      await s3.send(new PutObjectCommand({ Bucket: cfg.S3_BUCKET, Key: prefix + keyOf(index), Body: body }));
      out.push({ index, key: keyOf(index), startMs: index * CHUNK_S * 1000, durationMs: Math.min(CHUNK_S * 1000, minutes * 60_000 - index * CHUNK_S * 1000), bytes: body.length });
    }
    return out;
  };
  const now = new Date().toISOString();
  const m: Manifest = {
    version: 1, room, roomSid: 'RM_bench', recordingId, status: 'recording', startedAt: now, endedAt: now, updatedAt: now,
    durationMs: minutes * 60_000, sampleRate: SAMPLE_RATE,
    hls: { eventPlaylist: rel.eventPlaylist, livePlaylist: rel.livePlaylist, segmentSeconds: 2, codec: 'mp4a.40.2', bitrateKbps: 64, segments: 0, bytes: 0, ended: true },
    speakerFormat: { codec: 'flac', chunkSeconds: CHUNK_S },
    mix: { chunks: await chunksOf('mix', rel.mixChunk) },
    speakers: [],
    gaps: [], files: {}, processing: {}, error: null,
  };
  for (const id of ids) {
    m.speakers.push({ identity: id, name: id, key: id, joinedMs: 0, firstAudioMs: 0, lastAudioMs: m.durationMs, chunks: await chunksOf(id, (i) => rel.speakerChunk(id, i)) });
  }
  await writeManifest(s3, cfg.S3_BUCKET, prefix + rel.manifest, m);
  rmSync(dir, { recursive: true, force: true });
  return { room, recordingId, manifestKey: prefix + rel.manifest };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
