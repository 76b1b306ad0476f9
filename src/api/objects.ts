import type express from 'express';
import type { RecordingStore } from '../storage/recording-store';
import { HttpError } from './errors';

export interface ServeOptions {
  cacheControl: string;
  contentType: string;
  /** Content-Disposition: attachment with this file name. */
  downloadAs?: string;
}

export const attachmentName = (name: string) => name.replace(/[^A-Za-z0-9._-]/g, '_');

/**
 * Streams one of a recording's objects to the client (never buffered): its type, length, ETag,
 * caching headers and byte ranges (players seek in long files with Range requests). A client that
 * goes away aborts the S3 request, so its socket returns to the pool.
 */
export async function serveObject(store: RecordingStore, relKey: string, req: express.Request, res: express.Response, o: ServeOptions): Promise<void> {
  const range = req.get('Range');
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  let obj;
  try {
    obj = await store.getStream(relKey, { range: range && /^bytes=\d*-\d*$/.test(range) ? range : undefined, signal: abort.signal });
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 416) throw new HttpError(416, 'range_not_satisfiable', 'requested range is outside the file');
    throw err;
  }
  if (!obj) throw new HttpError(404, 'not_found', 'no such recording file');
  res.status(obj.contentRange ? 206 : 200);
  res.set('Content-Type', o.contentType);
  if (obj.contentLength !== undefined) res.set('Content-Length', String(obj.contentLength));
  if (obj.contentRange) res.set('Content-Range', obj.contentRange);
  res.set('Accept-Ranges', 'bytes');
  res.set('Cache-Control', o.cacheControl);
  if (obj.etag) res.set('ETag', obj.etag);
  if (obj.lastModified) res.set('Last-Modified', obj.lastModified.toUTCString());
  if (o.downloadAs) res.set('Content-Disposition', `attachment; filename="${attachmentName(o.downloadAs)}"`);
  const body = obj.body;
  res.on('close', () => body.destroy());
  if (req.method === 'HEAD') {
    body.destroy();
    res.end();
    return;
  }
  body.pipe(res);
}
