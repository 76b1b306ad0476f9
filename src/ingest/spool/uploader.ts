import { createReadStream, statSync } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import type { Logger } from '../../shared/log';
import { metrics } from '../../shared/metrics';
import type { RecordingStore } from '../../storage/recording-store';

export interface UploadItem {
  /** Key relative to the recording (its type and cache policy come from the table of recording files). */
  key: string;
  /** A spool file (deleted once S3 has it) or an in-memory body (playlists, manifest). */
  file?: string;
  body?: string | Buffer;
  /** The recording is live (playlists and the manifest are cached for less). */
  live?: boolean;
  /** Something outside the recording's prefix (its listing index entries): done by this call instead. */
  put?: () => Promise<void>;
  /** Called once the object is in S3. */
  onDone?: (bytes: number) => void;
}

/** Spool bytes an item holds until it is in S3. */
const spooledSize = (file: string | undefined): number => {
  try {
    return file ? statSync(file).size : 0;
  } catch {
    return 0;
  }
};

const BACKOFF_MIN_MS = 200;
const BACKOFF_MAX_MS = 5_000;

/**
 * Moves spooled files and small documents to S3. Nothing is dropped: a failed PUT is retried with
 * capped exponential backoff until it succeeds, and the spool file stays on disk until then.
 * In-memory documents with the same key are coalesced (the newest body wins), so a long outage
 * does not pile up stale playlist versions.
 */
export class Uploader {
  private readonly queue: UploadItem[] = [];
  private readonly pendingDocs = new Map<string, UploadItem>();
  private readonly sizes = new Map<UploadItem, number>();
  private active = 0;
  private idleWaiters: Array<() => void> = [];
  private stopped = false;
  private stopWaiters: Array<() => void> = [];

  constructor(
    private readonly store: RecordingStore,
    private readonly log: Logger,
    private readonly concurrency = 4,
  ) {}

  get pending(): number {
    return this.queue.length + this.active;
  }

  enqueue(item: UploadItem): void {
    if (item.body !== undefined) {
      const queued = this.pendingDocs.get(item.key);
      if (queued) {
        queued.body = item.body;
        queued.onDone = item.onDone ?? queued.onDone;
        return;
      }
      this.pendingDocs.set(item.key, item);
    }
    // Spooled bytes waiting for S3 (grows during an outage), counted from the moment they wait.
    const spooled = spooledSize(item.file);
    metrics.spoolBytes.inc(spooled);
    this.sizes.set(item, spooled);
    this.queue.push(item);
    this.pump();
  }

  /** Uploads one item with the same retries; resolves with its bytes once S3 has it, rejects if the uploader stops first. */
  upload(item: UploadItem): Promise<number> {
    return new Promise((resolve, reject) => {
      const onStop = () => reject(new Error('uploader stopped'));
      this.stopWaiters.push(onStop);
      this.enqueue({
        ...item,
        onDone: (bytes) => {
          this.stopWaiters = this.stopWaiters.filter((w) => w !== onStop);
          resolve(bytes);
        },
      });
    });
  }

  /** Resolves when everything enqueued so far is in S3. */
  drain(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops retrying (process shutdown); spooled files stay on disk for the next process. */
  stop(): void {
    this.stopped = true;
    for (const w of this.stopWaiters.splice(0)) w();
  }

  private pump(): void {
    while (this.active < this.concurrency && this.queue.length > 0) {
      const item = this.queue.shift()!;
      if (item.body !== undefined) this.pendingDocs.delete(item.key);
      this.active++;
      void this.run(item).finally(() => {
        this.active--;
        this.pump();
        if (this.pending === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          waiters.forEach((w) => w());
        }
      });
    }
  }

  private async run(item: UploadItem): Promise<void> {
    try {
      await this.attempt(item, BACKOFF_MIN_MS);
    } finally {
      metrics.spoolBytes.dec(this.sizes.get(item) ?? 0);
      this.sizes.delete(item);
    }
  }

  private async attempt(item: UploadItem, delay: number): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      let bytes: number;
      try {
        bytes = await this.put(item);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          // The spool file is gone (removed by hand?): no retry can bring it back.
          this.log.error({ key: item.key, file: item.file }, 'spool file vanished before upload');
          return;
        }
        metrics.uploadRetries.inc();
        if (attempt === 1 || attempt % 20 === 0) {
          // What waits on local disk is in every such line (and in /metrics): the operator sees the spool grow.
          const spooledBytes = (await metrics.spoolBytes.get()).values[0]?.value ?? 0;
          this.log.warn({ err: String(err), key: item.key, attempt, spooledBytes, waiting: this.pending }, 'upload failed; retrying');
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(BACKOFF_MAX_MS, delay * 2);
        continue;
      }
      if (item.file) await unlink(item.file).catch(() => undefined);
      metrics.uploads.inc({ kind: item.file ? 'file' : 'doc' });
      try {
        item.onDone?.(bytes);
      } catch (err) {
        this.log.error({ err, key: item.key }, 'after-upload step failed');
      }
      return;
    }
  }

  private async put(item: UploadItem): Promise<number> {
    if (item.put) {
      await item.put();
      return 0;
    }
    if (item.file) {
      const { size } = await stat(item.file);
      await this.store.put(item.key, createReadStream(item.file), { live: item.live, contentLength: size });
      return size;
    }
    const body = typeof item.body === 'string' ? Buffer.from(item.body) : item.body!;
    await this.store.put(item.key, body, { live: item.live });
    return body.length;
  }
}
