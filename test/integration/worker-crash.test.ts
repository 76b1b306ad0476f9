import { DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dispose } from '@livekit/rtc-node';
import { FlowProducer } from 'bullmq';
import IORedis from 'ioredis';
import { recordingPrefix, rel } from '../../src/contracts/layout';
import { Manifest } from '../../src/contracts/manifest';
import { loadAudio } from '../../src/demo/program';
import { enqueueAfterRoom } from '../../src/shared/queues';
import { decode, loudness, peakAbs, RATE, xcorrLagMs } from '../support/audio';
import { ARTIFACTS, testAppEnv } from '../support/env';
import { RoomcastProcess } from '../support/roomcast-process';
import { download, getText, testS3 } from '../support/s3';
import { runScenario, sleep } from '../support/scenario';

/**
 * A worker SIGKILLed in the middle of finalize: BullMQ hands the job to another worker, which
 * completes it. The first run's outputs, and whatever the killed worker had written, are deleted, so
 * the files checked at the end can only be the second worker's; they are decoded and measured.
 */
const CLIP = '/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav';
const CLIP_AT_MS = 500;
const MIX_FORMATS = ['opus', 'm4a', 'mp3'] as const;
interface SpeakerTimeline {
  speakers: Array<{ identity: string; name: string; talkMs: number }>;
  turns: Array<{ speaker: string; startMs: number; endMs: number }>;
}
const env = testAppEnv();
const { s3, bucket } = testS3(env);
afterAll(async () => {
  s3.destroy();
  await dispose();
});

async function manifestOf(prefix: string): Promise<Manifest | null> {
  const t = await getText(s3, bucket, prefix + rel.manifest);
  return t ? Manifest.parse(JSON.parse(t)) : null;
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs: number, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Every object under the recording's prefix, with when S3 last wrote it. */
async function listObjects(prefix: string): Promise<Map<string, Date>> {
  const out = new Map<string, Date>();
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of r.Contents ?? []) out.set(o.Key!.slice(prefix.length), o.LastModified!);
    token = r.NextContinuationToken;
  } while (token);
  return out;
}

/** What the after-room flow (finalize → transcribe → publish) writes; its inputs (chunks, HLS, live words) are not. */
const isOutput = (key: string) => key.startsWith('final/') || key.startsWith('transcript/transcript.') || key.startsWith('replay/');

async function deleteOutputs(prefix: string): Promise<string[]> {
  const keys = [...(await listObjects(prefix)).keys()].filter(isOutput).sort();
  for (const key of keys) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: prefix + key }));
  return keys;
}

/** The worker's log lines (pino JSON) about this recording. */
function logOf(name: string, recordingId: string): Array<{ msg: string; stage?: string }> {
  return readFileSync(path.join(ARTIFACTS, `${name}.log`), 'utf8')
    .split('\n')
    .filter((l) => l.includes(recordingId))
    .flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    });
}

test('a job killed halfway is retried by another worker, which makes every file again', async () => {
  const room = `crash-${Date.now()}`;
  const clip = loadAudio(CLIP);
  const r = await runScenario({
    env,
    room,
    speakers: [{ identity: 'ann', freq: 0, presence: [[0, 9_000]] }],
    bursts: [],
    cues: { ann: [{ atMs: CLIP_AT_MS, pcm: clip }] },
    events: [],
    endMs: 9_200,
  });
  const recordingId = r.active.recordingId;
  const prefix = recordingPrefix(room, recordingId);
  await until('the first run to complete', async () => (await manifestOf(prefix))?.status === 'complete', 90_000, 500);

  // Run the flow again on a separate queue prefix, served only by workers this test controls.
  const shift = Number(env.API_PORT) - 18080; // ROOMCAST_TEST_PORT_SHIFT
  const prefixEnv = { ...env, QUEUE_PREFIX: `${env.QUEUE_PREFIX}-crash`, API_PORT: String(18091 + shift) };
  const connection = new IORedis(env.REDIS_URL, { maxRetriesPerRequest: null });
  const flows = new FlowProducer({ connection, prefix: prefixEnv.QUEUE_PREFIX });
  const first = new RoomcastProcess('roomcast-workers-a', prefixEnv, ['workers']);
  const second = new RoomcastProcess('roomcast-workers-b', prefixEnv, ['workers']);
  const workdir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-crash-'));
  try {
    // Nothing of the first run's output may stand in for the rerun's: without the live archive's
    // status (and its files) finalize makes everything from the chunks, a long job to kill.
    const before = await deleteOutputs(prefix);
    expect(before).toEqual(expect.arrayContaining([rel.liveArchive, rel.mixArchive('opus'), rel.transcript('json'), rel.replayPage]));
    await first.start();
    const startedAt = Date.now();
    await enqueueAfterRoom(flows, { room, recordingId, manifestKey: prefix + rel.manifest });
    await until('finalize to be running', async () => {
      const m = await manifestOf(prefix);
      return m?.processing.finalize?.status === 'running' && Date.parse(m.processing.finalize.at) >= startedAt;
    }, 20_000, 50);
    await first.stop('SIGKILL'); // returns once the process has exited
    const killedAt = Date.now();
    // What the killed worker had written is removed too: every output at the end is the second
    // worker's, made after the kill.
    const byFirst = await deleteOutputs(prefix);
    await second.start();
    const done = await until('the flow to complete on the second worker', async () => {
      const m = await manifestOf(prefix);
      return m?.processing.publish?.status === 'done' && Date.parse(m.processing.publish.at) > killedAt ? m : null;
    }, 90_000, 250);
    console.log(`killed at finalize (it had written ${byFirst.length ? byFirst.join(', ') : 'nothing yet'}); completed ${Date.parse(done.processing.publish!.at) - killedAt} ms later: ${JSON.stringify(done.processing)}`);
    expect(done.status).toBe('complete');
    for (const stage of ['finalize', 'transcribe', 'publish']) {
      expect({ stage, status: done.processing[stage]?.status }).toEqual({ stage, status: 'done' });
      expect(Date.parse(done.processing[stage]!.at)).toBeGreaterThan(killedAt);
    }
    // The first worker died inside finalize; the second one finished it, from the chunks. (Labelled,
    // so a failure says what each worker logged.)
    const secondLog = logOf(second.name, recordingId);
    expect({
      firstDone: logOf(first.name, recordingId).filter((l) => l.msg === 'stage done').map((l) => l.stage),
      secondDone: secondLog.filter((l) => l.msg === 'stage done').map((l) => l.stage),
      secondFinalize: secondLog.filter((l) => l.msg.startsWith('finalize:')).map((l) => l.msg),
    }).toEqual({ firstDone: [], secondDone: ['finalize', 'transcribe', 'publish'], secondFinalize: expect.arrayContaining(['finalize: making the files from the chunks']) });

    // Every output is there again, written after the kill (S3 dates have one-second resolution).
    const after = await listObjects(prefix);
    const wanted = [
      ...MIX_FORMATS.map((e) => rel.mixArchive(e)),
      ...done.speakers.map((sp) => rel.speakerFile(sp.key)),
      rel.waveform,
      rel.speakerTimeline,
      ...(['json', 'vtt', 'srt', 'txt'] as const).map((e) => rel.transcript(e)),
      rel.replayData,
      rel.replayPage,
    ];
    for (const key of wanted) {
      expect({ key, written: after.has(key) }).toEqual({ key, written: true });
      expect({ key, afterKill: after.get(key)!.getTime() >= Math.floor(killedAt / 1000) * 1000 }).toEqual({ key, afterKill: true });
    }

    // And they are sound: the mix decodes to the recording's length at −16 LUFS (replay.test.ts's bounds) …
    for (const ext of MIX_FORMATS) {
      const file = path.join(workdir, `mix.${ext}`);
      await download(s3, bucket, prefix + rel.mixArchive(ext), file);
      const ms = (decode(file).length / RATE) * 1000;
      const l = loudness(file);
      console.log(`mix.${ext}: ${ms.toFixed(0)} ms of ${done.durationMs}, ${l.I} LUFS, true peak ${l.TP} dBTP`);
      // One labelled check per file, so a failure shows every figure of it.
      const mix = { ext, ms: Math.round(ms), durationMs: done.durationMs, I: l.I, TP: l.TP };
      expect({ ...mix, ok: Math.abs(ms - done.durationMs) <= 60 && Math.abs(l.I + 16) <= 1 && l.TP <= -1 }).toEqual({ ...mix, ok: true });
    }
    // … ann's own file spans the recording and lines up with the mix where she reads …
    const mixFile = path.join(workdir, 'mix.opus');
    const clipAt = r.epochMs + CLIP_AT_MS - Date.parse(done.startedAt);
    for (const sp of done.speakers) {
      const file = path.join(workdir, `${sp.key}.opus`);
      await download(s3, bucket, prefix + rel.speakerFile(sp.key), file);
      const own = decode(file);
      const at8k = (x: Float32Array) => x.filter((_, i) => i % 6 === 0);
      const from = Math.round((clipAt * 8000) / 1000);
      const lag = xcorrLagMs(at8k(decode(mixFile)).subarray(from, from + 24_000), at8k(own).subarray(from, from + 24_000), 100);
      const speech = peakAbs(own, clipAt, clipAt + clip.length / 48);
      console.log(`${sp.key}.opus: ${((own.length / RATE) * 1000).toFixed(0)} ms, peak ${speech.toFixed(3)} while reading, lag against the mix ${lag.toFixed(2)} ms`);
      const ownFile = { speaker: sp.key, ms: Math.round((own.length / RATE) * 1000), durationMs: done.durationMs, speech, lag, clipAt };
      expect({ ...ownFile, ok: Math.abs(ownFile.ms - done.durationMs) <= 60 && speech > 0.05 && Math.abs(lag) <= 10 }).toEqual({ ...ownFile, ok: true });
    }
    // … and the transcript, timeline, waveform and replay page describe this recording.
    const json = async <T>(key: string) => JSON.parse((await getText(s3, bucket, prefix + key))!) as T;
    const transcript = await json<{ segments: Array<{ speaker: string; body: string; startTime: number }> }>(rel.transcript('json'));
    const words = transcript.segments.flatMap((sg) => sg.body.split(/\s+/).filter(Boolean));
    console.log(`transcript: ${transcript.segments.length} segments, ${words.length} words: ${transcript.segments.map((sg) => sg.body).join(' / ')}`);
    expect(words.length).toBeGreaterThanOrEqual(5);
    expect(new Set(transcript.segments.map((sg) => sg.speaker))).toEqual(new Set([done.speakers[0]!.name]));
    for (const e of ['vtt', 'srt', 'txt'] as const) expect((await getText(s3, bucket, prefix + rel.transcript(e)))!.length).toBeGreaterThan(0);
    const timeline = await json<SpeakerTimeline>(rel.speakerTimeline);
    expect(timeline.speakers.map((sp) => sp.identity)).toEqual(['ann']);
    expect(timeline.turns.length).toBeGreaterThan(0);
    const waveform = await json<{ binMs: number; peaks: number[] }>(rel.waveform);
    expect(Math.abs(waveform.peaks.length - done.durationMs / waveform.binMs)).toBeLessThanOrEqual(2);
    const page = await json<{ recordingId: string; durationMs: number; transcript: unknown; downloads: unknown[] }>(rel.replayData);
    expect(page.recordingId).toBe(recordingId);
    expect(page.durationMs).toBe(done.durationMs);
    expect(page.transcript).not.toBeNull();
    expect((await getText(s3, bucket, prefix + rel.replayPage))!).toContain('<html');
  } finally {
    await first.stop('SIGKILL');
    await second.stop();
    await flows.close();
    connection.disconnect();
    rmSync(workdir, { recursive: true, force: true });
  }
});
