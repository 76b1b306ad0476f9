import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { dispose } from '@livekit/rtc-node';
import { RoomServiceClient } from 'livekit-server-sdk';
import { makeRecordingId, recordingPrefix, safeKey } from '../../src/contracts/layout';
import { Manifest } from '../../src/contracts/manifest';
import { Bucket } from '../../src/storage/objects';
import { RecordingStore } from '../../src/storage/recording-store';
import { testManifest } from '../support/fake-s3';
import { testAppEnv } from '../support/env';
import { waitForManifest } from '../support/manifest';
import { RoomcastProcess } from '../support/roomcast-process';
import { testS3 } from '../support/s3';
import { runScenario, sleep } from '../support/scenario';
import { livekitToken } from '../support/tokens';

/**
 * The probes of the trust issue that need a real room: delete while the after-the-room stages run,
 * a room whose roomcast metadata is malformed, and zip downloads abandoned by their clients.
 */
const env = testAppEnv();
const api = env.PUBLIC_BASE_URL;
const { s3, bucket } = testS3(env);
const stamp = Date.now();
const speakers = [{ identity: 'ann', freq: 440, presence: [[0, 5_500]] as Array<[number, number]> }];
const bursts = [{ speaker: 'ann', freq: 440, atMs: 500, durMs: 3_000, dbfs: -12 }];
const list = async (prefix: string) => ((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map((c) => c.Key!);

afterAll(async () => {
  s3.destroy();
  await dispose();
});

test('delete during finalizing is final: nothing of the recording exists or comes back while its stages run on', async () => {
  const room = `del-final-${stamp}`;
  const host = await livekitToken(env, room, { roomAdmin: true }, { ttl: '30m' });
  const r = await runScenario({ env, room, speakers, bursts, events: [], endMs: 5_800 });
  const id = r.active.recordingId;
  const prefix = recordingPrefix(room, id);
  // The moment the recorder hands the recording to the workers, its host deletes it.
  const m = await waitForManifest(s3, bucket, prefix, (x) => x.status !== 'recording', 30_000);
  expect(m.status).toBe('finalizing');
  const res = await fetch(`${api}/v1/rooms/${room}/recordings/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${host}` } });
  const deletedAt = Date.now();
  expect(res.status).toBe(204);
  // The stages (live archive, finalize, transcribe, publish) go on meanwhile: for 20 s nothing of it may reappear.
  const seen: string[] = [];
  while (Date.now() - deletedAt < 20_000) {
    seen.push(...(await list(prefix)));
    await sleep(200);
  }
  // A stage's write that raced the tombstone is removed by that stage within a moment; what stays is nothing.
  expect(await list(prefix)).toEqual([]);
  expect((await fetch(`${api}/v1/rooms/${room}/recordings/${id}`, { headers: { Authorization: `Bearer ${host}` } })).status).toBe(404);
  const listed = (await (await fetch(`${api}/v1/rooms/${room}/recordings`, { headers: { Authorization: `Bearer ${host}` } })).json()) as any;
  expect(listed.recordings).toEqual([]);
  expect(await list(`index/rooms/${safeKey(room)}/`)).toEqual([]);
  console.log(`delete during finalizing: objects seen again after the 204: ${new Set(seen).size} (${[...new Set(seen)].map((k) => k.slice(prefix.length)).join(', ') || 'none'}), none left after 20 s`);
}, 120_000);

test('a room whose roomcast metadata is malformed is neither recorded automatically nor listed publicly', async () => {
  const rooms = new RoomServiceClient(env.LIVEKIT_URL.replace(/^ws/, 'http'), env.LIVEKIT_API_KEY, env.LIVEKIT_API_SECRET);
  const room = `malformed-${stamp}`;
  await rooms.createRoom({ name: room, emptyTimeout: 30, metadata: JSON.stringify({ roomcast: { visibility: 'private', record: 'no' } }) });
  try {
    const [info] = await rooms.listRooms([room]);
    await sleep(6_000); // the room_started webhook has long been answered
    const live = (await (await fetch(`${api}/v1/rooms`)).json()) as any;
    expect(live.rooms.map((x: any) => x.room)).not.toContain(room);
    const prefix = recordingPrefix(room, makeRecordingId(new Date(Number(info.creationTime) * 1000), info.sid));
    expect(await list(prefix)).toEqual([]);
    // A host can still start it by hand: it is then private.
    const host = await livekitToken(env, room, { roomAdmin: true });
    const start = await fetch(`${api}/v1/rooms/${room}/recording`, { method: 'POST', headers: { Authorization: `Bearer ${host}` } });
    expect(start.status).toBe(202);
    const { recordingId } = (await start.json()) as any;
    const m = await waitForManifest(s3, bucket, recordingPrefix(room, recordingId), () => true, 20_000);
    expect(m.visibility).toBe('private');
    expect(((await (await fetch(`${api}/v1/rooms`)).json()) as any).rooms.map((x: any) => x.room)).not.toContain(room);
    expect((await fetch(`${api}/v1/rooms/${room}/recordings/${recordingId}/hls/live.m3u8`)).status).toBe(401);
    await fetch(`${api}/v1/rooms/${room}/recording`, { method: 'DELETE', headers: { Authorization: `Bearer ${host}` } });
  } finally {
    await rooms.deleteRoom(room).catch(() => undefined);
  }
}, 90_000);

test('zip downloads that clients abandon release their S3 connections: the api keeps answering', async () => {
  // An api of its own: were sockets leaked, it would hang, not the suite's shared one.
  const own: Record<string, string> = { ...testAppEnv(), API_PORT: String(18099 + Number(process.env.ROOMCAST_TEST_PORT_SHIFT ?? 0)) };
  const proc = new RoomcastProcess('roomcast-zip-abort', own, ['api']);
  await proc.start();
  try {
    const room = `zip-abort-${stamp}`;
    const r = await runScenario({ env, room, speakers, bursts, events: [], endMs: 5_800 });
    const id = r.active.recordingId;
    const prefix = recordingPrefix(room, id);
    await waitForManifest(s3, bucket, prefix, (x) => x.status === 'complete' && !!x.files['speaker.ann'], 90_000);
    // A speaker file too big for any buffer on the way (8 MiB): an abandoned download leaves its S3 response unread.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}final/speakers/ann.opus`, Body: randomBytes(8 * 1024 * 1024), ContentType: 'audio/ogg' }));
    const host = await livekitToken(env, room, { roomAdmin: true }, { recording: id });
    const base = `http://127.0.0.1:${own.API_PORT}/v1/rooms/${room}/recordings/${id}`;
    // More abandoned zips than the S3 client has sockets (50).
    for (let i = 0; i < 60; i++) {
      const ctl = new AbortController();
      // Without the fix the 51st waits for a socket that never comes back: fail in seconds, not at jest's timeout.
      const res = await fetch(`${base}/download/all.zip`, { headers: { Authorization: `Bearer ${host}` }, signal: AbortSignal.any([ctl.signal, AbortSignal.timeout(10_000)]) });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      await reader.read();
      ctl.abort();
      await reader.cancel().catch(() => undefined);
    }
    await sleep(1_000);
    // Every S3-backed route still answers, promptly.
    const t0 = Date.now();
    const mix = await fetch(`${base}/download/mix.opus`, { signal: AbortSignal.timeout(10_000) });
    expect(mix.status).toBe(200);
    expect((await mix.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    const zip = await fetch(`${base}/download/all.zip`, { headers: { Authorization: `Bearer ${host}` }, signal: AbortSignal.timeout(20_000) });
    expect((await zip.arrayBuffer()).byteLength).toBeGreaterThan(8 * 1024 * 1024);
    console.log(`after 60 abandoned zips: a download answered in ${Date.now() - t0} ms`);
    expect(Date.now() - t0).toBeLessThan(10_000);
  } finally {
    await proc.stop();
  }
}, 150_000);

test("the real S3 server keeps two manifest writers from undoing each other (If-Match): the stage's write and the link both stay", async () => {
  const room = `cas-${stamp}`;
  const id = makeRecordingId(new Date(), 'RM_cas');
  const store = new RecordingStore(new Bucket(s3, bucket), room, id);
  const held = Manifest.parse({ ...testManifest({ status: 'finalizing' }), room, recordingId: id, roomSid: 'RM_cas' });
  held.processing.publish = { status: 'running', at: held.endedAt!, attempt: 1 };
  await store.writeManifest(structuredClone(held));
  // The next session's recorder has read the manifest (publish running); publish completes the
  // recording before the link is written: the link's write is refused by S3 and made again.
  let reads = 0;
  await store.updateManifest(async (now) => {
    if (++reads === 1) {
      expect(now.status).toBe('finalizing');
      await new RecordingStore(new Bucket(s3, bucket), room, id).writeManifest({ ...structuredClone(held), status: 'complete', processing: { publish: { status: 'done', at: held.endedAt!, attempt: 1, tookMs: 5 } } });
    }
    return { ...now, continuedBy: `${id}-next` };
  });
  expect(reads).toBe(2);
  expect(await store.readManifest()).toMatchObject({ status: 'complete', continuedBy: `${id}-next`, processing: { publish: { status: 'done' } } });
  // And a stage that read before the link writes its manifest without dropping it.
  await store.writeManifest({ ...structuredClone(held), status: 'complete' });
  expect((await store.readManifest())?.continuedBy).toBe(`${id}-next`);
  await store.deleteAll();
});
