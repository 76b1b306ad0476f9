import { UnrecoverableError, type Job } from 'bullmq';
import pino from 'pino';
import { rel } from '../../src/contracts/layout';
import { Manifest } from '../../src/contracts/manifest';
import { ReplayData } from '../../src/contracts/replay-data';
import { archiveLive } from '../../src/workers/archive/live-archive';
import { publish } from '../../src/workers/publish';
import { RecordingGoneError, runStage, StageName } from '../../src/workers/stage';
import { transcribeLive } from '../../src/workers/transcribe/live';
import { FakeS3, PREFIX, RECORDING_ID, ROOM, testManifest, TOMBSTONE } from '../support/fake-s3';

const log = pino({ level: 'silent' });
const data = { room: ROOM, recordingId: RECORDING_ID, manifestKey: PREFIX + rel.manifest };
const job = (attemptsMade: number, attempts: number) => ({ attemptsMade, opts: { attempts }, updateProgress: async () => undefined }) as unknown as Job;

function setup(o: Parameters<typeof testManifest>[0] = {}) {
  const s3 = new FakeS3();
  s3.put(PREFIX + rel.manifest, JSON.stringify(testManifest(o)), 'application/json');
  return { s3, deps: { s3: s3.client, bucket: 'test', log } };
}
const manifestOf = (s3: FakeS3) => Manifest.parse(JSON.parse(s3.text(PREFIX + rel.manifest)!));

test("a stage's outputs get the table's type and the room's cache policy, and are listed in manifest.files", async () => {
  for (const visibility of ['private', 'public'] as const) {
    const { s3, deps } = setup({ visibility });
    await runStage('finalize', deps, undefined, data, async (ctx) => {
      await ctx.put(rel.mixArchive('opus'), Buffer.from('OggS'));
      await ctx.put(rel.speakerFile('ann'), Buffer.from('OggS'));
      await ctx.put(rel.waveform, '{}');
    });
    const mix = s3.objects.get(PREFIX + rel.mixArchive('opus'))!;
    expect(mix.contentType).toBe('audio/ogg');
    expect(mix.cacheControl).toBe(`${visibility}, max-age=300`);
    // Raw per-speaker audio is for hosts: never shared, even in a public room.
    expect(s3.objects.get(PREFIX + rel.speakerFile('ann'))!.cacheControl).toBe('private, max-age=300');
    expect(s3.objects.get(PREFIX + rel.manifest)!.cacheControl).toBe(visibility === 'public' ? 'no-cache' : 'private, no-cache');
    const m = manifestOf(s3);
    expect(m.files).toEqual({ 'mix.opus': 'final/mix.opus', 'speaker.ann': 'final/speakers/ann.opus', waveform: 'final/waveform.json' });
    expect(m.processing.finalize).toMatchObject({ status: 'done', attempt: 1 });
    expect(m.status).toBe('finalizing');
  }
});

test('a failed attempt with attempts left is recorded; the recording goes on', async () => {
  const { s3, deps } = setup();
  await expect(runStage('finalize', deps, job(0, 5), data, async () => { throw new Error('ffmpeg died'); })).rejects.toThrow('ffmpeg died');
  const m = manifestOf(s3);
  expect(m.processing.finalize).toMatchObject({ status: 'failed', attempt: 1, error: 'ffmpeg died' });
  expect(m.status).toBe('finalizing');
  expect(m.error).toBeNull();
});

test.each<[StageName, 'last attempt' | 'unrecoverable', string | null]>([
  ['finalize', 'last attempt', 'finalize failed: boom'],
  ['publish', 'unrecoverable', 'publish failed: boom'],
  ['transcribe', 'last attempt', null],
  ['transcribe', 'unrecoverable', null],
])('%s failing for good (%s) → recording error: %s', async (stage, how, error) => {
  const { s3, deps } = setup();
  const err = how === 'unrecoverable' ? new UnrecoverableError('boom') : new Error('boom');
  await expect(runStage(stage, deps, how === 'unrecoverable' ? job(0, 3) : job(2, 3), data, async () => { throw err; })).rejects.toBe(err);
  const m = manifestOf(s3);
  expect(m.processing[stage]).toMatchObject({ status: 'failed', attempt: how === 'unrecoverable' ? 1 : 3, error: 'boom' });
  expect(m.status).toBe(error ? 'failed' : 'finalizing');
  expect(m.error).toBe(error);
});

test('a recording that failed keeps its first reason', async () => {
  const { s3, deps } = setup();
  await expect(runStage('finalize', deps, undefined, data, async () => { throw new Error('no audio'); })).rejects.toThrow();
  await expect(publish(deps, data)).rejects.toThrow(UnrecoverableError);
  const m = manifestOf(s3);
  expect(m.status).toBe('failed');
  expect(m.error).toBe('finalize failed: no audio');
  expect(m.processing.publish).toMatchObject({ status: 'failed', error: 'finalize has not completed; nothing to publish' });
});

describe('a deleted recording stops a stage for good, and nothing is written', () => {
  test.each([
    ['its tombstone is there', (s3: FakeS3) => s3.put(TOMBSTONE, '{}')],
    ['its manifest is gone', (s3: FakeS3) => s3.objects.delete(PREFIX + rel.manifest)],
    ['its manifest says deleting', (s3: FakeS3) => s3.put(PREFIX + rel.manifest, JSON.stringify({ ...testManifest(), status: 'deleting' }))],
  ])('when %s', async (_, deleteIt) => {
    const { s3, deps } = setup();
    deleteIt(s3);
    const before = s3.text(PREFIX + rel.manifest);
    let ran = false;
    const err = await runStage('finalize', deps, job(0, 5), data, async () => { ran = true; }).catch((e) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect(err).toBeInstanceOf(RecordingGoneError);
    expect(ran).toBe(false);
    expect(s3.puts).toEqual([]);
    expect(s3.text(PREFIX + rel.manifest)).toBe(before);
  });

  test('when it is deleted while the stage writes', async () => {
    const { s3, deps } = setup();
    const err = await runStage('finalize', deps, job(0, 5), data, async (ctx) => {
      await ctx.put(rel.mixArchive('opus'), 'a');
      // The api deletes the recording: tombstone first, then every object.
      s3.put(TOMBSTONE, '{}');
      for (const k of [...s3.objects.keys()]) if (k.startsWith(PREFIX)) s3.objects.delete(k);
      await ctx.put(rel.mixArchive('m4a'), 'b');
    }).catch((e) => e);
    expect(err).toBeInstanceOf(RecordingGoneError);
    expect([...s3.objects.keys()]).toEqual([TOMBSTONE]);
  });

  test('a write that races the delete is taken back', async () => {
    const { s3, deps } = setup();
    s3.afterPut = (key) => {
      if (key.endsWith('mix.opus')) s3.put(TOMBSTONE, '{}');
    };
    const err = await runStage('finalize', deps, job(0, 5), data, async (ctx) => ctx.put(rel.mixArchive('opus'), 'a')).catch((e) => e);
    expect(err).toBeInstanceOf(RecordingGoneError);
    expect(s3.objects.has(PREFIX + rel.mixArchive('opus'))).toBe(false);
  });

  test('live jobs stop for good too', async () => {
    const { s3, deps } = setup({ status: 'recording' });
    s3.put(PREFIX + rel.manifest, JSON.stringify({ ...testManifest(), status: 'deleting' }));
    const engine = { name: 'none', transcribe: async () => [] };
    await expect(transcribeLive({ ...deps, engine, timeoutMs: 1000, pollMs: 10 }, data)).rejects.toBeInstanceOf(RecordingGoneError);
    await expect(archiveLive({ ...deps, pollMs: 10 }, data)).rejects.toBeInstanceOf(RecordingGoneError);
    s3.objects.delete(PREFIX + rel.manifest);
    s3.put(TOMBSTONE, '{}');
    await expect(transcribeLive({ ...deps, engine, timeoutMs: 1000, pollMs: 10 }, data)).rejects.toBeInstanceOf(RecordingGoneError);
    await expect(archiveLive({ ...deps, pollMs: 10 }, data)).rejects.toBeInstanceOf(RecordingGoneError);
    expect(s3.puts).toEqual([]);
  });
});

test('publish writes a valid replay page and completes the recording; a failed transcription leaves it working', async () => {
  const { s3, deps } = setup({ visibility: 'private' });
  const m = testManifest({ visibility: 'private' });
  m.processing.finalize = { status: 'done', at: new Date().toISOString(), attempt: 1 };
  m.processing.transcribe = { status: 'failed', at: new Date().toISOString(), attempt: 3, error: 'transcription service answered 503' };
  s3.put(PREFIX + rel.manifest, JSON.stringify(m));
  const timeline = {
    speakers: [
      { identity: 'ann', name: 'Ann', key: 'ann', talkMs: 1000, colour: '#000' },
      { identity: 'ben', name: 'Ben', key: 'ben', talkMs: 2000, colour: '#111' },
    ],
    turns: [{ speaker: 'ann', startMs: 0, endMs: 1000 }],
  };
  s3.put(PREFIX + rel.speakerTimeline, JSON.stringify(timeline));
  s3.put(PREFIX + rel.waveform, JSON.stringify({ binMs: 50, peaks: [0, 0.5] }));
  expect(await publish(deps, data)).toBe(rel.replayPage);

  const after = manifestOf(s3);
  expect(after.status).toBe('complete');
  expect(after.error).toBeNull();
  expect(after.files).toMatchObject({ replay: 'replay/index.html', 'replay.data': 'replay/data.json', 'replay.replay.js': 'replay/replay.js', 'replay.replay.css': 'replay/replay.css', 'replay.hls': 'replay/hls.min.js' });
  const page = ReplayData.parse(JSON.parse(s3.text(PREFIX + rel.replayData)!));
  expect(page.transcript).toBeNull();
  expect(page.vtt).toBeNull();
  expect(page.transcriptError).toBe('transcription service answered 503');
  expect(page.hls).toBe('../hls/index.m3u8');
  expect(page.waveform.peaks).toEqual([0, 0.5]);
  expect(page.downloads.map((d) => [d.label, d.hostOnly])).toEqual([
    ['Mix (Opus)', false],
    ['Mix (M4A)', false],
    ['Mix (MP3)', false],
    ['Ann (Opus)', true],
    ['Ben (Opus)', true],
  ]);
  // A private room's files are not for shared caches.
  expect(s3.objects.get(PREFIX + rel.replayPage)).toMatchObject({ contentType: 'text/html; charset=utf-8', cacheControl: 'private, no-cache' });
  expect(s3.objects.get(PREFIX + rel.replayData)!.cacheControl).toBe('private, no-cache');
  expect(s3.objects.get(PREFIX + rel.replayAsset('hls.min.js'))).toMatchObject({ contentType: 'text/javascript; charset=utf-8', cacheControl: 'private, max-age=300' });
  // The page comes last: once it is there, the replay is ready.
  expect(s3.puts.filter((k) => !k.endsWith(rel.manifest)).at(-1)).toBe(PREFIX + rel.replayPage);
});
