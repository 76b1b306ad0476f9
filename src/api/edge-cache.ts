import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';

export interface CachedObject {
  body: Buffer;
  contentType?: string;
  etag?: string;
}

/**
 * The live edge in memory: playlists for a fraction of a second (every player of a room asks for
 * the same one every couple of seconds) and recent segments (immutable) for longer. Bounded by
 * bytes; concurrent misses for one key share one S3 request.
 */
export class EdgeCache {
  private readonly entries = new Map<string, { at: number; ttlMs: number; obj: Promise<CachedObject | null>; size: number }>();
  private bytes = 0;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly maxBytes = 64 * 1024 * 1024,
    private readonly enabled = true,
  ) {}

  get(key: string, ttlMs: number): Promise<CachedObject | null> {
    if (!this.enabled) return this.fetch(key);
    const hit = this.entries.get(key);
    if (hit && Date.now() - hit.at < hit.ttlMs) {
      this.entries.delete(key); // most recently used last
      this.entries.set(key, hit);
      return hit.obj;
    }
    if (hit) this.drop(key);
    const obj = this.fetch(key);
    const entry = { at: Date.now(), ttlMs, obj, size: 0 };
    this.entries.set(key, entry);
    obj.then(
      (o) => {
        if (this.entries.get(key) !== entry) return;
        // A missing object is not kept: it may appear any moment.
        if (!o) return void this.entries.delete(key);
        entry.size = o.body.length;
        this.bytes += entry.size;
        this.evict();
      },
      () => this.entries.get(key) === entry && this.entries.delete(key),
    );
    return obj;
  }

  private async fetch(key: string): Promise<CachedObject | null> {
    try {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return { body: Buffer.from(await r.Body!.transformToByteArray()), contentType: r.ContentType, etag: r.ETag };
    } catch (err) {
      if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return null;
      throw err;
    }
  }

  private drop(key: string) {
    const e = this.entries.get(key);
    this.entries.delete(key);
    if (e) this.bytes -= e.size;
  }

  private evict() {
    for (const key of this.entries.keys()) {
      if (this.bytes <= this.maxBytes) break;
      this.drop(key);
    }
  }
}
