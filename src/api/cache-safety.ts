import type { RequestHandler } from 'express';

/** Credentials a request may carry: the Authorization header, a token or a signed link in the query. */
export function carriesCredentials(req: { get(name: string): string | undefined; query: unknown }): boolean {
  const q = req.query as Record<string, unknown>;
  return req.get('Authorization') !== undefined || ['token', 'sig', 'exp', 'scope', 'nbf'].some((k) => q[k] !== undefined);
}

/**
 * The last line of defence for shared caches: a response to a request that carried credentials is
 * never `public`. Routes set the right policy themselves (contracts/recording-files.ts); this
 * rewrites whatever slipped through as the headers go out, so a CDN that keys on the path alone can
 * never hand one caller's answer (or the token in it) to the next.
 */
export const credentialedResponsesArePrivate: RequestHandler = (req, res, next) => {
  if (!carriesCredentials(req)) return next();
  const writeHead = res.writeHead;
  res.writeHead = function (this: typeof res, ...args: unknown[]) {
    const cc = String(res.getHeader('Cache-Control') ?? '');
    if (!/\bprivate\b|\bno-store\b/.test(cc)) {
      const rest = cc.split(',').map((d) => d.trim()).filter((d) => d && !/^(public|s-maxage=\d+)$/i.test(d));
      res.setHeader('Cache-Control', ['private', ...(rest.length ? rest : ['no-store'])].join(', '));
    }
    return (writeHead as (...a: unknown[]) => typeof res).apply(this, args);
  } as typeof res.writeHead;
  next();
};
