/**
 * Time from room end to replay page ready, split by stage, for recordings of N minutes; and the
 * transcription real-time factor and word error rate per engine on the LibriVox clips.
 *
 *   npx tsx bench/replay.ts [--minutes 1,10,60] [--engines sphinx,openai,whisper]   (--minutes 0: engines only)
 *
 * The long recordings are generated (three speakers taking turns reading the LibriVox clips) and
 * written to the dev stack's S3 exactly as ingest writes them (test/support/generated-recording.ts),
 * then the workers' jobs run here.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config';
import { SAMPLE_RATE } from '../src/ingest/pipeline/timeline';
import { loadAudio } from '../src/demo/program';
import { log } from '../src/shared/log';
import { stackUp } from '../src/stack/stack';
import { stackAppEnv, stackSettings } from '../src/stack/settings';
import { RecordingStore } from '../src/storage/recording-store';
import { makeS3Client } from '../src/storage/s3';
import { archiveLive, readLiveArchive } from '../src/workers/archive/live-archive';
import { CPU_PARALLELISM, mapPool } from '../src/shared/pool';
import { finalize } from '../src/workers/finalize';
import { publish } from '../src/workers/publish';
import { makeEngine } from '../src/workers/transcribe';
import { transcribeLive } from '../src/workers/transcribe/live';
import { readLiveWords } from '../src/workers/transcribe/live-words';
import { transcribe } from '../src/workers/transcribe/transcribe';
import { GENERATED_SPEAKERS, generateRecording, LIBRIVOX as DATA, librivoxClips } from '../test/support/generated-recording';
import { wer, words } from '../test/support/wer';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '1,10' }, engines: { type: 'string', default: 'sphinx' }, 'finalize-only': { type: 'boolean', default: false } },
});
log.level = 'warn';

async function main() {
  const settings = stackSettings();
  await stackUp(settings);
  const cfg = loadConfig({ ...process.env, ...stackAppEnv(settings) });
  const s3 = makeS3Client(cfg);
  const clips = librivoxClips();

  console.log('\n## Room end → replay ready (sphinx), by stage');
  console.log('The live jobs (transcription and archive files) first catch up with the whole room, as they do');
  console.log('while a room runs (their time is the "live" column); then the room ends and the flow runs.\n');
  console.log('| audio | live jobs (during room) | finalize | transcribe | publish | room end → replay ready |');
  console.log('|---|---|---|---|---|---|');
  for (const minutes of values.minutes!.split(',').map(Number).filter((x) => x > 0)) {
    const rec = await generateRecording({ s3, bucket: cfg.S3_BUCKET, minutes, clips });
    const deps = { s3, bucket: cfg.S3_BUCKET, log };
    if (values['finalize-only']) {
      // After the room only, from the chunks (no live archive): what finalize costs on its own.
      await rec.publish(rec.chunkCount, true);
      const t = performance.now();
      await finalize(deps, rec.job);
      console.log(`| ${minutes} min | – | ${s(performance.now() - t)} | – | – | – |`);
      rec.cleanup();
      continue;
    }
    // The room "runs": every chunk is in S3 but the recording is not over, and the live jobs catch
    // up with it (while a real room runs this work is spread over its length).
    await rec.publish(rec.chunkCount);
    const engine = makeEngine({ ...cfg, TRANSCRIBE_ENGINE: 'sphinx' });
    const tl = performance.now();
    const liveWords = transcribeLive({ ...deps, engine, timeoutMs: 600_000, pollMs: 200 }, rec.job);
    const liveFiles = archiveLive({ ...deps, pollMs: 200 }, rec.job);
    for (;;) {
      const store = RecordingStore.of(s3, cfg.S3_BUCKET, rec.job.room, rec.job.recordingId);
      const words = await Promise.all(GENERATED_SPEAKERS.map((k) => readLiveWords(store, k)));
      const files = await readLiveArchive(store);
      if (words.every((x) => x && x.readMs >= rec.durationMs - 1) && files && files.doneMs >= rec.durationMs) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const liveMs = performance.now() - tl;
    // The room ends.
    const t0 = performance.now();
    await rec.publish(rec.chunkCount, true);
    await finalize(deps, rec.job);
    const t1 = performance.now();
    await transcribe({ ...deps, engine, timeoutMs: 600_000 }, rec.job);
    const t2 = performance.now();
    await publish(deps, rec.job);
    const t3 = performance.now();
    const [, archived] = await Promise.all([liveWords, liveFiles]);
    console.log(`| ${minutes} min | ${s(liveMs)} (${(liveMs / (minutes * 60_000)).toFixed(3)} × real time) | ${s(t1 - t0)} | ${s(t2 - t1)} | ${s(t3 - t2)} | ${s(t3 - t0)} |`);
    console.log(`|  | live archive: ${archived.state}, gain ${archived.loudness?.gainDb} dB from the first ${(archived.loudness?.measuredMs ?? 0) / 1000} s → ${archived.loudness?.I} LUFS |  |  |  |  |`);
    rec.cleanup();
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
      // Each clip in one engine process; the clips four times over, as many at once as there are
      // cores (as live transcription runs speakers side by side): RTF per process (CPU) and for
      // the machine (wall clock).
      const ids = Object.keys(refs);
      const runs = [...ids, ...ids, ...ids, ...ids];
      let cpu = 0, errors = 0, total = 0, audio = 0;
      const wall = performance.now();
      await mapPool(runs, CPU_PARALLELISM, async (id, i) => {
        const t = performance.now();
        const got = await engine.transcribe(`${DATA}/${id}.wav`, { timeoutMs: 120_000 });
        cpu += performance.now() - t;
        audio += (loadAudio(`${DATA}/${id}.wav`).length / SAMPLE_RATE) * 1000;
        if (i < ids.length) {
          const w = wer(words(refs[id]), words(got.map((x) => x.word).join(' ')));
          errors += w.errors;
          total += w.words;
        }
      });
      const wallMs = performance.now() - wall;
      console.log(`| ${name} | ${(audio / 1000).toFixed(1)} s | ${(wallMs / 1000).toFixed(2)} s | ${(cpu / audio).toFixed(3)} per process, ${(wallMs / audio).toFixed(3)} on ${CPU_PARALLELISM} cores | ${((100 * errors) / total).toFixed(1)} % |`);
    } catch (err) {
      console.log(`| ${name} | – | – | – | not run: ${(err as Error).message} |`);
    }
  }
  s3.destroy();
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
