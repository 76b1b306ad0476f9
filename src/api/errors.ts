import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from '../shared/log';
import { StorageError } from '../storage/objects';

/** Every error leaves the api as { "error": { "code", "message" } } with a matching status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof HttpError) return sendError(res, err.status, err.code, err.message);
    // Storage refused part of an operation (a key it could not delete): the caller must know, and may retry.
    if (err instanceof StorageError) {
      log.error({ err, path: req.path }, 'storage refused an operation');
      return sendError(res, 503, 'storage_incomplete', err.message);
    }
    // body-parser's own errors carry a type and a status.
    if (err?.type === 'entity.too.large') return sendError(res, 413, 'payload_too_large', 'request body is too large');
    if (typeof err?.status === 'number' && err.status >= 400 && err.status < 500) {
      return sendError(res, err.status, 'bad_request', String(err.message ?? 'bad request'));
    }
    log.error({ err, path: req.path }, 'unhandled api error');
    sendError(res, 500, 'internal', 'internal error');
  };
}
