import { Bucket, StorageError } from '../../src/storage/objects';
import { RecordingDeletedError, RecordingStore } from '../../src/storage/recording-store';
import type { Manifest } from '../../src/contracts/manifest';
import { FakeS3, PREFIX, RECORDING_ID, ROOM, testManifest } from '../support/fake-s3';

/**
 * The store's rules, against an in-memory bucket (the integration tests run the same code against
 * the real S3 server): delete is final, a stage cannot write into a deleted recording, and a key S3
 * refuses to delete is an error.
 */
const storeOn = (mem: FakeS3) => new RecordingStore(new Bucket(mem.client, 'b'), 'standup', '20260101T000000Z-RM_a');

test('objects get their type and cache policy from the table, private for a private room', async () => {
  const mem = new FakeS3();
  const store = storeOn(mem);
  store.visibility = 'private';
  await store.put('final/mix.opus', 'x');
  await store.put('transcript/transcript.vtt', 'x');
  expect(mem.objects.get('rooms/standup/20260101T000000Z-RM_a/final/mix.opus')).toMatchObject({ contentType: 'audio/ogg', cacheControl: 'private, max-age=300' });
  expect(mem.objects.get('rooms/standup/20260101T000000Z-RM_a/transcript/transcript.vtt')?.cacheControl).toBe('private, max-age=300');
  store.visibility = 'public';
  await store.put('final/mix.opus', 'x');
  await store.put('final/speakers/ann.opus', 'x');
  expect(mem.objects.get('rooms/standup/20260101T000000Z-RM_a/final/mix.opus')?.cacheControl).toBe('public, max-age=300');
  expect(mem.objects.get('rooms/standup/20260101T000000Z-RM_a/final/speakers/ann.opus')?.cacheControl).toBe('private, max-age=300');
  await expect(store.put('../../elsewhere', 'x')).rejects.toThrow(/not a recording file/);
});

test('delete is final: the tombstone stays, later writes are refused, a write racing the delete removes itself', async () => {
  const mem = new FakeS3();
  const store = storeOn(mem);
  for (let i = 0; i < 2500; i++) mem.put(`rooms/standup/20260101T000000Z-RM_a/hls/seg_${String(i).padStart(6, '0')}.m4s`, '');
  mem.put('rooms/standup/20260101T000000Z-RM_a/manifest.json', Buffer.from('{}'));
  mem.put('rooms/standup/20260101T000000Z-RM_b/manifest.json', Buffer.from('{}'));
  expect(await store.deleteAll()).toBe(2501);
  expect([...mem.objects.keys()].sort()).toEqual(['rooms/standup/20260101T000000Z-RM_b/manifest.json', 'tombstones/standup/20260101T000000Z-RM_a']);
  await expect(store.put('final/mix.opus', 'x')).rejects.toBeInstanceOf(RecordingDeletedError);
  expect(mem.objects.has('rooms/standup/20260101T000000Z-RM_a/final/mix.opus')).toBe(false);

  // A stage checked before the tombstone existed, then wrote: its own check afterwards removes it.
  const racing = new FakeS3();
  const stage = storeOn(racing);
  racing.afterPut = (key) => {
    if (key.endsWith('final/mix.opus')) {
      racing.afterPut = undefined;
      racing.put('tombstones/standup/20260101T000000Z-RM_a', '');
    }
  };
  await expect(stage.put('final/mix.opus', 'x')).rejects.toBeInstanceOf(RecordingDeletedError);
  expect(racing.objects.has('rooms/standup/20260101T000000Z-RM_a/final/mix.opus')).toBe(false);
});

test('a key S3 refuses to delete is an error the caller sees; the manifest goes last, so a retry can find the recording', async () => {
  const mem = new FakeS3();
  const store = storeOn(mem);
  mem.put('rooms/standup/20260101T000000Z-RM_a/manifest.json', Buffer.from('{}'));
  mem.put('rooms/standup/20260101T000000Z-RM_a/final/mix.opus', Buffer.alloc(0));
  mem.refuseDelete.add('rooms/standup/20260101T000000Z-RM_a/final/mix.opus');
  await expect(store.deleteAll()).rejects.toBeInstanceOf(StorageError);
  expect(mem.objects.has('rooms/standup/20260101T000000Z-RM_a/manifest.json')).toBe(true);
  mem.refuseDelete.clear();
  expect(await store.deleteAll()).toBe(2);
  // Objects that keep coming back end the delete with an error, not a loop without end.
  const stubborn = new FakeS3();
  stubborn.refuseDelete.add('rooms/standup/20260101T000000Z-RM_a/x');
  const flaky = new Bucket(stubborn.client, 'b');
  flaky.deleteKeys = async () => undefined; // S3 says "done" but the object stays
  stubborn.put('rooms/standup/20260101T000000Z-RM_a/hls/seg_000000.m4s', Buffer.alloc(0));
  await expect(new RecordingStore(flaky, 'standup', '20260101T000000Z-RM_a').deleteAll()).rejects.toThrow(/keep appearing/);
});

test("two writers of one manifest (a stage, and the next session's recorder linking it) never undo each other", async () => {
  const mem = new FakeS3();
  const store = new RecordingStore(new Bucket(mem.client, 'b'), ROOM, RECORDING_ID);
  const key = PREFIX + 'manifest.json';
  const stored = () => JSON.parse(mem.text(key)!) as Manifest;
  const held = testManifest({ status: 'finalizing' });
  held.processing.publish = { status: 'running', at: held.endedAt!, attempt: 1 };
  mem.put(key, JSON.stringify(held));

  // The linker read the manifest while publish ran; publish completes before the link is written.
  let calls = 0;
  const linked = await store.updateManifest((now) => {
    if (++calls === 1) {
      const done = structuredClone(held);
      done.status = 'complete';
      done.processing.publish = { status: 'done', at: held.endedAt!, attempt: 1, tookMs: 5 };
      mem.put(key, JSON.stringify(done));
    }
    return { ...now, continuedBy: '20260101T000200Z-RM_next' };
  });
  expect(calls).toBe(2); // its first write lost to publish's: read again
  expect(linked?.status).toBe('complete');
  expect(stored()).toMatchObject({ status: 'complete', continuedBy: '20260101T000200Z-RM_next', processing: { publish: { status: 'done' } } });

  // The other order: a stage holding the manifest from before the link writes it back, and the link stays.
  const stage = testManifest({ status: 'finalizing' });
  let raced = false;
  const realSend = mem.send.bind(mem);
  jest.spyOn(mem, 'send').mockImplementation(async (cmd) => {
    // Between the stage's read and its write, the recorder links the recording.
    if (cmd.constructor.name === 'PutObjectCommand' && cmd.input.Key === key && !raced) {
      raced = true;
      const now = stored();
      mem.put(key, JSON.stringify({ ...now, continuedBy: '20260101T000300Z-RM_other' }));
    }
    return realSend(cmd);
  });
  mem.put(key, JSON.stringify({ ...stored(), continuedBy: null }));
  stage.status = 'complete';
  await store.writeManifest(stage);
  expect(raced).toBe(true);
  expect(stored()).toMatchObject({ status: 'complete', continuedBy: '20260101T000300Z-RM_other' });
});
