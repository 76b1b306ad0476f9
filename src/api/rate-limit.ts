import type { Request, RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Config } from '../config';
import { sendError } from './errors';

const isHls = (req: Request) => /\/hls\/[^/]+$/.test(req.path);

/**
 * Per-client (IP) limits on what anonymous clients call: players get a generous budget for
 * playlists and segments, everything else a smaller one. Requests with credentials are not
 * limited here (a token or signed link is already scoped and expiring). Counters are per api
 * process; behind a CDN set API_TRUST_PROXY so the client's address is used, not the CDN's.
 */
export function rateLimits(cfg: Config): RequestHandler[] {
  const anonymous = (req: Request) => !req.get('Authorization') && req.query.token === undefined && req.query.sig === undefined;
  const handler: RequestHandler = (_req, res) => sendError(res, 429, 'rate_limited', 'too many requests: slow down');
  const common = { windowMs: 60_000, standardHeaders: 'draft-8' as const, legacyHeaders: false, handler };
  return [
    rateLimit({ ...common, limit: cfg.HLS_RATE_LIMIT_PER_MINUTE, skip: (req) => !req.path.startsWith('/v1/') || !isHls(req) || !anonymous(req) }),
    rateLimit({ ...common, limit: cfg.RATE_LIMIT_PER_MINUTE, skip: (req) => !req.path.startsWith('/v1/') || isHls(req) || req.path.startsWith('/v1/webhooks') || req.path === '/v1/openapi.json' || !anonymous(req) }),
  ];
}
