import type { S3Client } from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import type { z } from 'zod';
import { recordingPrefix, safeKey } from '../contracts/layout';
import { Manifest } from '../contracts/manifest';
import { cacheControl, PERSONAL_CACHE, requireFileKind, rel, type Visibility } from '../contracts/recording-files';
import { Bucket, isPreconditionFailed, ObjectStream, StorageError } from './objects';

/** A stage tried to write into a recording that has been deleted: the job must stop, not retry. */
export class RecordingDeletedError extends Error {
  constructor(recordingId: string) {
    super(`recording ${recordingId} has been deleted`);
    this.name = 'RecordingDeletedError';
  }
}

/** How many list-and-delete rounds a delete makes before it reports objects that keep coming back. */
const DELETE_ROUNDS = 20;
/** How often a manifest write that keeps losing to other writers is tried before it is an error. */
const MANIFEST_SWAP_TRIES = 8;

/**
 * One recording's objects: every read and write of rooms/{room}/{recordingId}/ goes through here,
 * with the headers the table of recording files gives each key (contracts/recording-files.ts).
 *
 * Delete is final. It first leaves a tombstone (tombstones/{room}/{recordingId}, outside the
 * prefix, kept), then deletes every object. A writer checks the tombstone before and after each
 * put and removes what it wrote if it finds one, so a stage that was running cannot bring the
 * recording back: either the delete's listing sees the object, or the writer sees the tombstone.
 */
export class RecordingStore {
  readonly prefix: string;
  readonly tombstoneKey: string;
  /** Decides each object's Cache-Control; unknown until the manifest is read, so private. */
  visibility: Visibility = 'private';

  constructor(
    readonly bucket: Bucket,
    readonly room: string,
    readonly recordingId: string,
    /** Check the tombstone around every write (the after-the-room stages; the ingest cannot race a delete). */
    private readonly guardWrites = true,
  ) {
    this.prefix = recordingPrefix(room, recordingId);
    this.tombstoneKey = `tombstones/${safeKey(room)}/${recordingId}`;
  }

  static of(s3: S3Client, bucketName: string, room: string, recordingId: string, guardWrites = true): RecordingStore {
    return new RecordingStore(new Bucket(s3, bucketName), room, recordingId, guardWrites);
  }

  key(relKey: string): string {
    return this.prefix + relKey;
  }

  async readManifest(): Promise<Manifest | null> {
    return (await this.readVersionedManifest())?.manifest ?? null;
  }

  /** The manifest and the version (ETag) it was read at. */
  private async readVersionedManifest(): Promise<{ manifest: Manifest; etag?: string } | null> {
    const obj = await this.bucket.getBytes(this.key(rel.manifest));
    if (!obj) return null;
    const manifest = Manifest.parse(JSON.parse(obj.body.toString('utf8')));
    this.visibility = manifest.visibility;
    return { manifest, etag: obj.etag };
  }

  /**
   * Writes the manifest (validated); refused for a deleted recording. The one field another
   * process writes into a manifest a stage holds (continuedBy, by the recorder of the room's next
   * session) is kept: the write is a compare-and-swap over the version it was merged from.
   */
  async writeManifest(m: Manifest): Promise<void> {
    await this.swapManifest((current) => {
      m.continuedBy ??= current?.continuedBy ?? null;
      return m;
    });
  }

  /**
   * Changes the current manifest: `change` gets it as stored now and returns what to write (null:
   * nothing to write); a write that loses to another writer is read and changed again.
   */
  async updateManifest(change: (current: Manifest) => Manifest | null | Promise<Manifest | null>): Promise<Manifest | null> {
    return this.swapManifest((current) => (current ? change(current) : null));
  }

  private async swapManifest(change: (current: Manifest | null) => Manifest | null | Promise<Manifest | null>): Promise<Manifest | null> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.readVersionedManifest();
      const next = await change(current?.manifest ?? null);
      if (!next) return null;
      next.updatedAt = new Date().toISOString();
      this.visibility = next.visibility;
      try {
        await this.put(rel.manifest, JSON.stringify(Manifest.parse(next), null, 2), { live: next.status === 'recording', ifMatch: current?.etag });
        return next;
      } catch (err) {
        if (!isPreconditionFailed(err) || attempt >= MANIFEST_SWAP_TRIES) throw err;
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 80 * attempt));
      }
    }
  }

  async getBytes(relKey: string): Promise<Buffer | null> {
    return (await this.bucket.getBytes(this.key(relKey)))?.body ?? null;
  }

  async getText(relKey: string): Promise<string | null> {
    return (await this.getBytes(relKey))?.toString('utf8') ?? null;
  }

  /** A JSON object, validated by `schema` when given; null when it does not exist. */
  async getJson<T>(relKey: string, schema?: z.ZodType<T>): Promise<T | null> {
    const text = await this.getText(relKey);
    if (text === null) return null;
    const value = JSON.parse(text) as unknown;
    return schema ? schema.parse(value) : (value as T);
  }

  getStream(relKey: string, o: { range?: string; signal?: AbortSignal } = {}): Promise<ObjectStream | null> {
    return this.bucket.getStream(this.key(relKey), o);
  }

  /** Writes one of the recording's objects with its kind's content type and cache policy. */
  async put(relKey: string, body: Buffer | string | Readable, o: { live?: boolean; contentLength?: number; ifMatch?: string } = {}): Promise<void> {
    const file = requireFileKind(relKey);
    if (this.guardWrites && (await this.isDeleted())) throw new RecordingDeletedError(this.recordingId);
    await this.bucket.put(this.key(relKey), body, {
      contentType: file.contentType,
      cacheControl: cacheControl(file.kind, this.visibility, { live: o.live }),
      contentLength: o.contentLength,
      ifMatch: o.ifMatch,
    });
    if (this.guardWrites && (await this.isDeleted())) {
      await this.bucket.deleteKeys([this.key(relKey)]);
      throw new RecordingDeletedError(this.recordingId);
    }
  }

  putJson(relKey: string, value: unknown): Promise<void> {
    return this.put(relKey, JSON.stringify(value));
  }

  presign(relKey: string, ttlSeconds: number, downloadAs?: string): Promise<string> {
    return this.bucket.presign(this.key(relKey), ttlSeconds, downloadAs);
  }

  isDeleted(): Promise<boolean> {
    return this.bucket.exists(this.tombstoneKey);
  }

  /**
   * Deletes every object of the recording, for good: tombstone first, the manifest (marked
   * 'deleting' by the caller) last, so a delete that fails half-way can be retried through the api.
   * Returns how many objects were deleted; throws when S3 refuses a key or objects keep appearing
   * (the tombstone stays, so nothing comes back meanwhile).
   */
  async deleteAll(): Promise<number> {
    await this.bucket.put(this.tombstoneKey, JSON.stringify({ deletedAt: new Date().toISOString() }), { contentType: 'application/json', cacheControl: PERSONAL_CACHE });
    const manifestKey = this.key(rel.manifest);
    let deleted = 0;
    // Full pages go as fast as S3 lists them; after the last page, what reappears is a stage
    // racing the tombstone (it removes its own object too): a few rounds settle it.
    for (let round = 0; round < DELETE_ROUNDS; ) {
      const { keys, truncated } = await this.bucket.list(this.prefix, { maxKeys: 1000 });
      const rest = keys.filter((k) => k !== manifestKey);
      if (keys.length === 0) return deleted;
      await this.bucket.deleteKeys(rest.length > 0 ? rest : keys);
      deleted += rest.length > 0 ? rest.length : keys.length;
      if (!truncated) round++;
    }
    throw new StorageError(`objects of ${this.recordingId} keep appearing after ${DELETE_ROUNDS} delete rounds`);
  }
}
