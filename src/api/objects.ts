import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type express from 'express';
import { Readable } from 'node:stream';
import { HttpError } from './errors';

const isMissing = (err: unknown) =>
  err instanceof NoSuchKey || ['NoSuchKey', 'NotFound'].includes((err as { name?: string })?.name ?? '');

export interface ServeOptions {
  cacheControl?: string;
  contentType?: string;
  /** Content-Disposition: attachment with this file name. */
  downloadAs?: string;
}

/**
 * Streams an S3 object to the client (never buffered): its type, length, ETag, caching headers,
 * and byte ranges (players seek in long files with Range requests).
 */
export async function serveObject(s3: S3Client, bucket: string, key: string, req: express.Request, res: express.Response, o: ServeOptions = {}): Promise<void> {
  const range = req.get('Range');
  let obj;
  try {
    obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: range && /^bytes=\d*-\d*$/.test(range) ? range : undefined }));
  } catch (err) {
    if (isMissing(err)) throw new HttpError(404, 'not_found', 'no such recording file');
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416) throw new HttpError(416, 'range_not_satisfiable', 'requested range is outside the file');
    throw err;
  }
  res.status(obj.ContentRange ? 206 : 200);
  res.set('Content-Type', o.contentType ?? obj.ContentType ?? 'application/octet-stream');
  if (obj.ContentLength !== undefined) res.set('Content-Length', String(obj.ContentLength));
  if (obj.ContentRange) res.set('Content-Range', obj.ContentRange);
  res.set('Accept-Ranges', 'bytes');
  res.set('Cache-Control', o.cacheControl ?? obj.CacheControl ?? 'no-cache');
  if (obj.ETag) res.set('ETag', obj.ETag);
  if (obj.LastModified) res.set('Last-Modified', obj.LastModified.toUTCString());
  if (o.downloadAs) res.set('Content-Disposition', `attachment; filename="${o.downloadAs.replace(/[^A-Za-z0-9._-]/g, '_')}"`);
  if (req.method === 'HEAD') {
    (obj.Body as Readable).destroy();
    res.end();
    return;
  }
  const body = obj.Body as Readable;
  res.on('close', () => body.destroy());
  body.pipe(res);
}

/** The whole object as text, or null when it does not exist. */
export async function objectText(s3: S3Client, bucket: string, key: string): Promise<string | null> {
  try {
    const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await obj.Body!.transformToString();
  } catch (err) {
    if (isMissing(err)) return null;
    throw err;
  }
}

/** A short-lived URL that fetches the object straight from S3, as an attachment. */
export function presignedUrl(s3: S3Client, bucket: string, key: string, ttlSeconds: number, downloadAs?: string): Promise<string> {
  return getSignedUrl(
    s3,
    new GetObjectCommand({ Bucket: bucket, Key: key, ResponseContentDisposition: downloadAs ? `attachment; filename="${downloadAs.replace(/[^A-Za-z0-9._-]/g, '_')}"` : undefined }),
    { expiresIn: ttlSeconds },
  );
}
