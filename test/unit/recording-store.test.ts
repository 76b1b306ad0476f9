import { DeleteObjectsCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Bucket, StorageError } from '../../src/storage/objects';
import { RecordingDeletedError, RecordingStore } from '../../src/storage/recording-store';

/**
 * The store's rules, against an in-memory bucket that answers the four S3 calls they use (the
 * integration tests run the same code against the real S3 server): delete is final, a stage cannot
 * write into a deleted recording, and a key S3 refuses to delete is an error.
 */
class MemoryS3 {
  objects = new Map<string, { body: string; cacheControl?: string; contentType?: string }>();
  refuseDelete = new Set<string>();
  /** Runs after each successful put: a stage racing a delete. */
  afterPut?: (key: string) => Promise<void>;
  async send(cmd: unknown): Promise<unknown> {
    if (cmd instanceof PutObjectCommand) {
      const i = cmd.input;
      this.objects.set(i.Key!, { body: String(i.Body), cacheControl: i.CacheControl, contentType: i.ContentType });
      await this.afterPut?.(i.Key!);
      return {};
    }
    if (cmd instanceof HeadObjectCommand) {
      if (this.objects.has(cmd.input.Key!)) return {};
      throw Object.assign(new Error('NotFound'), { name: 'NotFound' });
    }
    if (cmd instanceof ListObjectsV2Command) {
      const keys = [...this.objects.keys()].filter((k) => k.startsWith(cmd.input.Prefix!)).sort();
      const page = keys.slice(0, cmd.input.MaxKeys ?? 1000);
      return { Contents: page.map((Key) => ({ Key })), IsTruncated: page.length < keys.length };
    }
    if (cmd instanceof DeleteObjectsCommand) {
      const Errors = [];
      for (const { Key } of cmd.input.Delete!.Objects!) {
        if (this.refuseDelete.has(Key!)) Errors.push({ Key, Code: 'AccessDenied', Message: 'no' });
        else this.objects.delete(Key!);
      }
      return { Errors };
    }
    throw new Error(`unexpected command ${(cmd as object).constructor.name}`);
  }
}

const storeOn = (mem: MemoryS3) => new RecordingStore(new Bucket(mem as unknown as S3Client, 'b'), 'standup', '20260101T000000Z-RM_a');

test('objects get their type and cache policy from the table, private for a private room', async () => {
  const mem = new MemoryS3();
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
  const mem = new MemoryS3();
  const store = storeOn(mem);
  for (let i = 0; i < 2500; i++) mem.objects.set(`rooms/standup/20260101T000000Z-RM_a/hls/seg_${String(i).padStart(6, '0')}.ts`, { body: '' });
  mem.objects.set('rooms/standup/20260101T000000Z-RM_a/manifest.json', { body: '{}' });
  mem.objects.set('rooms/standup/20260101T000000Z-RM_b/manifest.json', { body: '{}' });
  expect(await store.deleteAll()).toBe(2501);
  expect([...mem.objects.keys()].sort()).toEqual(['rooms/standup/20260101T000000Z-RM_b/manifest.json', 'tombstones/standup/20260101T000000Z-RM_a']);
  await expect(store.put('final/mix.opus', 'x')).rejects.toBeInstanceOf(RecordingDeletedError);
  expect(mem.objects.has('rooms/standup/20260101T000000Z-RM_a/final/mix.opus')).toBe(false);

  // A stage checked before the tombstone existed, then wrote: its own check afterwards removes it.
  const racing = new MemoryS3();
  const stage = storeOn(racing);
  racing.afterPut = async (key) => {
    if (key.endsWith('final/mix.opus')) {
      racing.afterPut = undefined;
      racing.objects.set('tombstones/standup/20260101T000000Z-RM_a', { body: '' });
    }
  };
  await expect(stage.put('final/mix.opus', 'x')).rejects.toBeInstanceOf(RecordingDeletedError);
  expect(racing.objects.has('rooms/standup/20260101T000000Z-RM_a/final/mix.opus')).toBe(false);
});

test('a key S3 refuses to delete is an error the caller sees; the manifest goes last, so a retry can find the recording', async () => {
  const mem = new MemoryS3();
  const store = storeOn(mem);
  mem.objects.set('rooms/standup/20260101T000000Z-RM_a/manifest.json', { body: '{}' });
  mem.objects.set('rooms/standup/20260101T000000Z-RM_a/final/mix.opus', { body: '' });
  mem.refuseDelete.add('rooms/standup/20260101T000000Z-RM_a/final/mix.opus');
  await expect(store.deleteAll()).rejects.toBeInstanceOf(StorageError);
  expect(mem.objects.has('rooms/standup/20260101T000000Z-RM_a/manifest.json')).toBe(true);
  mem.refuseDelete.clear();
  expect(await store.deleteAll()).toBe(2);
  // Objects that keep coming back end the delete with an error, not a loop without end.
  const stubborn = new MemoryS3();
  stubborn.refuseDelete.add('rooms/standup/20260101T000000Z-RM_a/x');
  const flaky = new Bucket(stubborn as unknown as S3Client, 'b');
  flaky.deleteKeys = async () => undefined; // S3 says "done" but the object stays
  stubborn.objects.set('rooms/standup/20260101T000000Z-RM_a/hls/seg_000000.ts', { body: '' });
  await expect(new RecordingStore(flaky, 'standup', '20260101T000000Z-RM_a').deleteAll()).rejects.toThrow(/keep appearing/);
});
