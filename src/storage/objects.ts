import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Readable } from 'node:stream';
import { PERSONAL_CACHE } from '../contracts/recording-files';

/**
 * The bucket's objects, by full key: the only module that speaks S3 (the recording store, the
 * listing index, the api's edge cache and health check build on it).
 */
export const isMissing = (err: unknown): boolean =>
  err instanceof NoSuchKey || ['NoSuchKey', 'NotFound'].includes((err as { name?: string })?.name ?? '') || (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404;

export class StorageError extends Error {}

/** A conditional write (If-Match / If-None-Match) lost to another writer: read again and retry. */
export const isPreconditionFailed = (err: unknown): boolean =>
  ['PreconditionFailed', 'ConditionalRequestConflict'].includes((err as { name?: string })?.name ?? '') || [409, 412].includes((err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode ?? 0);

export interface ObjectBytes {
  body: Buffer;
  contentType?: string;
  etag?: string;
}

export interface ObjectStream {
  body: Readable;
  contentType?: string;
  contentLength?: number;
  contentRange?: string;
  cacheControl?: string;
  etag?: string;
  lastModified?: Date;
}

export interface PutOptions {
  contentType: string;
  cacheControl: string;
  contentLength?: number;
  /** Write only over this version (ETag) of the object: compare-and-swap. */
  ifMatch?: string;
}

export class Bucket {
  constructor(
    readonly s3: S3Client,
    readonly name: string,
  ) {}

  /** The whole object, or null when it does not exist. */
  async getBytes(key: string): Promise<ObjectBytes | null> {
    try {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
      return { body: Buffer.from(await r.Body!.transformToByteArray()), contentType: r.ContentType, etag: r.ETag };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  /**
   * The object as a stream (never buffered), optionally a byte range; null when it does not exist.
   * `signal` aborts the request and releases its socket (a client that went away).
   */
  async getStream(key: string, o: { range?: string; signal?: AbortSignal } = {}): Promise<ObjectStream | null> {
    try {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.name, Key: key, Range: o.range }), { abortSignal: o.signal });
      return { body: r.Body as Readable, contentType: r.ContentType, contentLength: r.ContentLength, contentRange: r.ContentRange, cacheControl: r.CacheControl, etag: r.ETag, lastModified: r.LastModified };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.name, Key: key }));
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async put(key: string, body: Buffer | string | Readable, o: PutOptions): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.name, Key: key, Body: body, ContentType: o.contentType, CacheControl: o.cacheControl, ContentLength: o.contentLength, IfMatch: o.ifMatch }));
  }

  /** Keys under a prefix, in order, a page at a time. */
  async list(prefix: string, o: { startAfter?: string; maxKeys?: number } = {}): Promise<{ keys: string[]; truncated: boolean }> {
    const r = await this.s3.send(new ListObjectsV2Command({ Bucket: this.name, Prefix: prefix, StartAfter: o.startAfter, MaxKeys: o.maxKeys ?? 1000 }));
    return { keys: (r.Contents ?? []).map((c) => c.Key!), truncated: !!r.IsTruncated };
  }

  /** Deletes keys (≤ 1000); a key S3 could not delete is an error, never ignored. */
  async deleteKeys(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const r = await this.s3.send(new DeleteObjectsCommand({ Bucket: this.name, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
    const errors = r.Errors ?? [];
    if (errors.length > 0) {
      const e = errors[0];
      throw new StorageError(`could not delete ${errors.length} of ${keys.length} objects (first: ${e.Key}: ${e.Code} ${e.Message ?? ''})`);
    }
  }

  /** A short-lived URL that fetches the object straight from S3, as an attachment no shared cache keeps. */
  presign(key: string, ttlSeconds: number, downloadAs?: string): Promise<string> {
    return getSignedUrl(
      this.s3,
      new GetObjectCommand({
        Bucket: this.name,
        Key: key,
        ResponseCacheControl: PERSONAL_CACHE,
        ResponseContentDisposition: downloadAs ? `attachment; filename="${downloadAs.replace(/[^A-Za-z0-9._-]/g, '_')}"` : undefined,
      }),
      { expiresIn: ttlSeconds },
    );
  }

  /** Reachability (health checks). */
  async head(): Promise<void> {
    await this.s3.send(new HeadBucketCommand({ Bucket: this.name }));
  }

  /** Creates the bucket if it is not there (the local stack). */
  async ensure(): Promise<void> {
    try {
      await this.head();
    } catch {
      await this.s3.send(new CreateBucketCommand({ Bucket: this.name }));
    }
  }
}
