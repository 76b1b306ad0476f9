import { writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

/** A hand-made SVG line chart (two panels) and its PNG, taken with Chromium. */
export interface Series {
  name: string;
  color: string;
  dashed?: boolean;
  points: Array<[number, number]>;
}

export interface Panel {
  title: string;
  yLabel: string;
  series: Series[];
  /** A horizontal target line. */
  target?: { value: number; label: string };
  xLabel?: string;
}

const W = 520;
const H = 400;
const M = { l: 70, r: 20, t: 40, b: 50 };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const fmt = (v: number) => (Math.abs(v) < 10 ? String(+v.toFixed(Math.abs(v) < 0.1 ? 3 : 2)) : String(Math.round(v)));

function panel(p: Panel, xs: number[], dx: number): string {
  const xLast = Math.max(...xs, 1);
  const xMax = xLast * 1.06;
  const values = p.series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite);
  const yMax = niceMax(Math.max(...values, p.target?.value ?? 0) * 1.1);
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const X = (x: number) => dx + M.l + (x / xMax) * pw;
  const Y = (y: number) => M.t + ph - (y / yMax) * ph;
  const out: string[] = [];
  out.push(`<text x="${dx + W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(p.title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const y = (yMax * i) / 5;
    out.push(`<line x1="${X(0)}" x2="${X(xMax)}" y1="${Y(y)}" y2="${Y(y)}" stroke="#ddd"/>`);
    out.push(`<text x="${X(0) - 6}" y="${Y(y) + 4}" text-anchor="end" font-size="11">${fmt(y)}</text>`);
  }
  const step = Math.ceil(xs.length / 15); // at most ~15 tick labels
  for (const x of [0, ...xs.filter((_, i) => (i + 1) % step === 0)]) {
    out.push(`<line x1="${X(x)}" x2="${X(x)}" y1="${Y(0)}" y2="${Y(0) + 5}" stroke="#333"/>`);
    out.push(`<text x="${X(x)}" y="${Y(0) + 18}" text-anchor="middle" font-size="11">${x}</text>`);
  }
  out.push(`<line x1="${X(0)}" x2="${X(xMax)}" y1="${Y(0)}" y2="${Y(0)}" stroke="#333"/><line x1="${X(0)}" x2="${X(0)}" y1="${Y(0)}" y2="${Y(yMax)}" stroke="#333"/>`);
  out.push(`<text x="${X(xMax / 2)}" y="${H - 10}" text-anchor="middle" font-size="12">${esc(p.xLabel ?? 'concurrent rooms (N), 4 speakers each')}</text>`);
  out.push(`<text transform="translate(${dx + 16},${M.t + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(p.yLabel)}</text>`);
  if (p.target) {
    out.push(`<line x1="${X(0)}" x2="${X(xMax)}" y1="${Y(p.target.value)}" y2="${Y(p.target.value)}" stroke="#c00" stroke-dasharray="6 4"/>`);
    out.push(`<text x="${X(xMax) - 4}" y="${Y(p.target.value) - 5}" text-anchor="end" font-size="11" fill="#c00">${esc(p.target.label)}</text>`);
  }
  p.series.forEach((s, i) => {
    const pts = s.points.filter(([, y]) => Number.isFinite(y));
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" ${s.dashed ? 'stroke-dasharray="4 3"' : ''} points="${pts.map(([x, y]) => `${X(x)},${Y(y)}`).join(' ')}"/>`);
    const fill = s.dashed ? 'white' : s.color;
    for (const [x, y] of pts) out.push(`<circle cx="${X(x)}" cy="${Y(y)}" r="4" fill="${fill}" stroke="${s.color}" stroke-width="2"><title>${esc(s.name)}: ${fmt(y)}</title></circle>`);
    const ly = M.t + 8 + i * 16;
    out.push(`<line x1="${X(0) + 10}" x2="${X(0) + 30}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2" ${s.dashed ? 'stroke-dasharray="4 3"' : ''}/>`);
    out.push(`<text x="${X(0) + 35}" y="${ly + 4}" font-size="11">${esc(s.name)}</text>`);
  });
  return out.join('\n');
}

export function chartSvg(title: string, xs: number[], panels: Panel[]): string {
  const width = W * panels.length;
  const height = H + 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="${H + 22}" text-anchor="middle" font-size="12" fill="#555">${esc(title)}</text>`,
    ...panels.map((p, i) => panel(p, xs, i * W)),
    '</svg>',
  ].join('\n');
}

/** Writes the SVG and a PNG screenshot of it (Chromium through playwright-core). */
export async function writeChart(svg: string, svgFile: string, pngFile: string): Promise<void> {
  writeFileSync(svgFile, svg);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 600 } });
    await page.setContent(`<!doctype html><html><body style="margin:0;background:white">${svg}</body></html>`);
    await page.locator('svg').first().screenshot({ path: pngFile });
  } finally {
    await browser.close();
  }
}
