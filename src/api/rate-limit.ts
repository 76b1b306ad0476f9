import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { Config } from '../config';
import type { Credential } from './access';
import { sendError } from './errors';

const isHls = (req: Request) => /\/hls\/[^/]+$/.test(req.path);

/** The rate-limit key of a request: its verified credential's subject, or else the client's address. */
const KEY = Symbol('rateLimitKey');
type Keyed = Request & { [KEY]?: string };

/**
 * Per-client budgets: players get a generous one for playlists and segments, everything else a
 * smaller one. The key is who the caller proved to be — a verified token's subject (or, without
 * one, the token itself), a verified link's signature — and otherwise the client's address:
 * credentials that do not verify, or junk, count as anonymous (they cannot lift a limit). Counters
 * are per api process; behind a CDN set API_TRUST_PROXY so the client's address is used.
 */
export function rateLimits(cfg: Config, identify: (req: Request) => Promise<Credential>): RequestHandler[] {
  const keyOf: RequestHandler = (req, _res, next) => {
    if (!req.path.startsWith('/v1/')) return next();
    identify(req).then(
      (c) => {
        (req as Keyed)[KEY] =
          c.kind === 'token' ? `token:${c.claims.sub || c.token}` : c.kind === 'link' ? `link:${c.sig}` : `ip:${ipKeyGenerator(req.ip ?? '')}`;
        next();
      },
      next,
    );
  };
  const verified = (req: Request) => !(req as Keyed)[KEY]?.startsWith('ip:');
  const handler: RequestHandler = (_req, res) => sendError(res, 429, 'rate_limited', 'too many requests: slow down');
  const common = { windowMs: 60_000, standardHeaders: 'draft-8' as const, legacyHeaders: false, handler, keyGenerator: (req: Request) => (req as Keyed)[KEY] ?? `ip:${ipKeyGenerator(req.ip ?? '')}` };
  const exempt = (req: Request) => !req.path.startsWith('/v1/') || req.path.startsWith('/v1/webhooks') || req.path === '/v1/openapi.json';
  return [
    keyOf,
    rateLimit({ ...common, limit: cfg.HLS_RATE_LIMIT_PER_MINUTE, skip: (req) => exempt(req) || !isHls(req) || verified(req) }),
    rateLimit({ ...common, limit: cfg.RATE_LIMIT_PER_MINUTE, skip: (req) => exempt(req) || isHls(req) || verified(req) }),
    rateLimit({ ...common, limit: cfg.HLS_RATE_LIMIT_PER_MINUTE, skip: (req) => exempt(req) || !isHls(req) || !verified(req) }),
    rateLimit({ ...common, limit: cfg.RATE_LIMIT_PER_TOKEN_PER_MINUTE, skip: (req) => exempt(req) || isHls(req) || !verified(req) }),
  ];
}
