import type { Bucket } from '../storage/objects';

export interface CachedObject {
  body: Buffer;
  contentType?: string;
  etag?: string;
}

interface Entry {
  at: number;
  ttlMs: number;
  obj: Promise<CachedObject | null>;
  size: number;
  settled: boolean;
  refreshing: boolean;
}

/** An expired entry is still served (while a refresh runs) for up to this many TTLs. */
const STALE_TTLS = 3;

/**
 * The live edge in memory: playlists for a fraction of a second (every player of a room asks for
 * the same one every couple of seconds) and recent segments (immutable) for longer. Bounded by
 * bytes; concurrent misses for one key share one S3 request, and an entry just past its TTL is
 * served while one request refreshes it, so a slow S3 answer never holds players back (a live
 * playlist is then at most a couple of seconds old, and still lists only segments S3 has).
 */
export class EdgeCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(
    private readonly bucket: Bucket,
    private readonly maxBytes = 64 * 1024 * 1024,
    private readonly enabled = true,
  ) {}

  get(key: string, ttlMs: number): Promise<CachedObject | null> {
    if (!this.enabled) return this.fetch(key);
    const hit = this.entries.get(key);
    const now = Date.now();
    if (hit && now - hit.at < hit.ttlMs) {
      this.entries.delete(key); // most recently used last
      this.entries.set(key, hit);
      return hit.obj;
    }
    if (hit?.settled && now - hit.at < hit.ttlMs * STALE_TTLS) {
      if (!hit.refreshing) {
        hit.refreshing = true;
        this.load(key, ttlMs).obj.catch(() => undefined);
      }
      return hit.obj;
    }
    if (hit) this.drop(key);
    return this.load(key, ttlMs).obj;
  }

  /** Forgets every entry under a prefix (a deleted recording). Other api processes forget within 3 TTLs. */
  invalidate(prefix: string): void {
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.drop(key);
  }

  /** Fetches a key; the entry replaces the old one once it has an answer (a miss replaces it at once). */
  private load(key: string, ttlMs: number): Entry {
    const previous = this.entries.get(key);
    const entry: Entry = { at: Date.now(), ttlMs, obj: this.fetch(key), size: 0, settled: false, refreshing: false };
    if (!previous?.settled) this.entries.set(key, entry);
    entry.obj.then(
      (o) => {
        entry.settled = true;
        const current = this.entries.get(key);
        if (current !== entry && current !== previous) return;
        if (current === previous) this.drop(key);
        // A missing object is not kept: it may appear any moment.
        if (!o) return void this.entries.delete(key);
        entry.at = Date.now();
        entry.size = o.body.length;
        this.entries.set(key, entry);
        this.bytes += entry.size;
        this.evict();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
        if (previous) previous.refreshing = false;
      },
    );
    return entry;
  }

  private fetch(key: string): Promise<CachedObject | null> {
    return this.bucket.getBytes(key);
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
