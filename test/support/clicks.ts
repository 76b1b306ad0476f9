/**
 * Figures over where clicks landed against where they belong (long-room test, long-room bench):
 * one entry per click, `err` in ms (null: not found), relative to the first minute's median.
 */
export type ClickErrors = Array<{ atMs: number; err: number | null; clipped: boolean }>;

/** Median error of each minute of the room, in order (minutes without a click are skipped). */
export function minuteMedians(errs: ClickErrors, endMs: number): number[] {
  const out: number[] = [];
  for (let m = 0; m * 60_000 < endMs; m++) {
    const e = errs.filter((x) => x.err !== null && Math.floor(x.atMs / 60_000) === m).map((x) => x.err!).sort((a, b) => a - b);
    if (e.length) out.push(e[Math.floor(e.length / 2)]);
  }
  return out;
}

/** Least-squares slope of the placement error against time, in ms per hour: the drift proper. */
export function driftPerHour(errs: ClickErrors): number {
  const pts = errs.filter((e) => e.err !== null).map((e) => [e.atMs / 3_600_000, e.err!] as const);
  const mx = pts.reduce((a, p) => a + p[0], 0) / pts.length;
  const my = pts.reduce((a, p) => a + p[1], 0) / pts.length;
  const sxy = pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const sxx = pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return sxy / sxx;
}

export interface ClickSummary {
  clicks: number;
  found: number;
  within20: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  driftPerHour: number;
  clipped: number;
}

/** Counts and percentiles of |error|, and the drift. */
export function summarize(errs: ClickErrors): ClickSummary {
  const got = errs.filter((e) => e.err !== null).map((e) => Math.abs(e.err!)).sort((a, b) => a - b);
  const pct = (p: number) => got[Math.min(got.length - 1, Math.floor((p / 100) * got.length))] ?? NaN;
  return {
    clicks: errs.length,
    found: got.length,
    within20: got.filter((e) => e <= 20).length,
    p50: pct(50),
    p95: pct(95),
    p99: pct(99),
    max: got[got.length - 1] ?? NaN,
    driftPerHour: driftPerHour(errs),
    clipped: errs.filter((e) => e.clipped).length,
  };
}
