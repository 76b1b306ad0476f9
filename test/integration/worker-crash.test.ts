import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { dispose } from '@livekit/rtc-node';
import { FlowProducer } from 'bullmq';
import IORedis from 'ioredis';
import { recordingPrefix, rel } from '../../src/contracts/layout';
import { Manifest } from '../../src/contracts/manifest';
import { loadAudio } from '../../src/demo/program';
import { enqueueAfterRoom } from '../../src/shared/queues';
import { testAppEnv } from '../support/env';
import { RoomcastProcess } from '../support/roomcast-process';
import { exists, getText, testS3 } from '../support/s3';
import { runScenario, sleep } from '../support/scenario';

/** A worker SIGKILLed in the middle of finalize: BullMQ hands the job to another worker, which completes it. */
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

test('a job killed halfway is retried by another worker and completes', async () => {
  const room = `crash-${Date.now()}`;
  const clip = loadAudio('/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav');
  const r = await runScenario({
    env,
    room,
    speakers: [{ identity: 'ann', freq: 0, presence: [[0, 9_000]] }],
    bursts: [],
    cues: { ann: [{ atMs: 500, pcm: clip }] },
    events: [],
    endMs: 9_200,
  });
  const prefix = recordingPrefix(room, r.active.recordingId);
  await until('the first run to complete', async () => (await manifestOf(prefix))?.status === 'complete', 90_000, 500);

  // Run the flow again on a separate queue prefix, served only by workers this test controls.
  const prefixEnv = { ...env, QUEUE_PREFIX: `${env.QUEUE_PREFIX}-crash`, API_PORT: '18091' };
  const connection = new IORedis(env.REDIS_URL, { maxRetriesPerRequest: null });
  const flows = new FlowProducer({ connection, prefix: prefixEnv.QUEUE_PREFIX });
  const first = new RoomcastProcess('roomcast-workers-a', prefixEnv, ['workers']);
  const second = new RoomcastProcess('roomcast-workers-b', prefixEnv, ['workers']);
  try {
    // Without the live archive's files finalize makes everything from the chunks: a long job to kill.
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: prefix + rel.liveArchive }));
    await first.start();
    const startedAt = Date.now();
    await enqueueAfterRoom(flows, { room, recordingId: r.active.recordingId, manifestKey: prefix + rel.manifest });
    await until('finalize to be running', async () => {
      const m = await manifestOf(prefix);
      return m?.processing.finalize?.status === 'running' && Date.parse(m.processing.finalize.at) >= startedAt;
    }, 20_000, 50);
    await first.stop('SIGKILL');
    const killedAt = Date.now();
    await second.start();
    const done = await until('the flow to complete on the second worker', async () => {
      const m = await manifestOf(prefix);
      return m?.processing.publish?.status === 'done' && Date.parse(m.processing.publish.at) > killedAt ? m : null;
    }, 90_000, 250);
    console.log(`killed at finalize; completed ${Date.parse(done.processing.publish!.at) - killedAt} ms later: ${JSON.stringify(done.processing)}`);
    expect(done.status).toBe('complete');
    expect(Date.parse(done.processing.finalize!.at)).toBeGreaterThan(killedAt);
    for (const key of [rel.mixArchive('opus'), rel.transcript('json'), rel.replayPage]) expect(await exists(s3, bucket, prefix + key)).toBe(true);
  } finally {
    await first.stop('SIGKILL');
    await second.stop();
    await flows.close();
    connection.disconnect();
  }
});
