/**
 * Drift over a long room: runs the long-room test (test/integration/long-room.test.ts: two bots
 * clicking every 10 s with DTX silences, a reconnect each, S3 down 60 s, Redis restarted) for
 * --minutes on its own test stack (ports shifted by --port-shift, so it can run beside the suite),
 * then reads where every click landed in the HLS mix and in each speaker's file and prints, per
 * track, |error| percentiles, clicks within ±20 ms and the drift (least-squares slope, ms per hour),
 * with a PNG chart of each minute's median and worst error.
 *
 *   npx tsx bench/long-room.ts [--minutes 60] [--port-shift 20000] [--out bench-results/long-room]
 *                              [--report-only]   (only read the last run's files)
 *
 * Errors are against the first minute's median (the path's fixed delay); the test itself asserts
 * looser bounds (see its checkClicks) and fails the run if they are not met: the figures are
 * printed either way.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../src/stack/settings';
import { ClickErrors, minuteMedians, summarize } from '../test/support/clicks';
import { chartSvg, writeChart } from './support/chart';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '60' },
    'port-shift': { type: 'string', default: '20000' },
    out: { type: 'string', default: 'bench-results/long-room' },
    'report-only': { type: 'boolean', default: false },
  },
});
const TARGET_MS = 20;
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728'];

async function main(): Promise<void> {
  const minutes = Number(values.minutes);
  const shift = Number(values['port-shift']);
  if (!(minutes > 0) || !Number.isInteger(shift) || shift < 0) throw new Error('--minutes takes a positive number, --port-shift a non-negative integer');
  const artifacts = path.join(ROOT, 'test-artifacts', ...(shift ? [`test-${shift}`] : []));
  let exitCode = 0;
  if (!values['report-only']) {
    const started = Date.now();
    const run = spawnSync('npx', ['jest', 'test/integration/long-room.test.ts'], {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, LONG_ROOM_MINUTES: String(minutes), ROOMCAST_TEST_PORT_SHIFT: String(shift) },
    });
    exitCode = run.status ?? 1;
    console.log(`\nlong-room test: ${exitCode === 0 ? 'passed' : `FAILED (exit ${exitCode})`} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  const files = existsSync(artifacts) ? readdirSync(artifacts).filter((f) => /^long-room-.+\.json$/.test(f)).sort() : [];
  if (!files.length) throw new Error(`no long-room-*.json in ${artifacts}: run without --report-only first`);
  const tracks = files.map((f) => ({
    label: f.replace(/^long-room-|\.json$/g, ''),
    at: statSync(path.join(artifacts, f)).mtime.toISOString(),
    errs: JSON.parse(readFileSync(path.join(artifacts, f), 'utf8')) as ClickErrors,
  }));
  const endMs = Math.max(...tracks.flatMap((t) => t.errs.map((e) => e.atMs))) + 1;
  console.log(`\n## Drift over the long room (${(endMs / 60_000).toFixed(0)} min; files of ${tracks[0].at})\n`);
  console.log('| track | clicks found | within ±20 ms | |error| p50 / p95 / p99 / max ms | drift ms per hour | minute medians, min … max ms |');
  console.log('|---|---|---|---|---|---|');
  for (const t of tracks) {
    const s = summarize(t.errs);
    const med = minuteMedians(t.errs, endMs);
    console.log(`| ${t.label} | ${s.found} of ${s.clicks} | ${s.within20} | ${s.p50} / ${s.p95} / ${s.p99} / ${s.max} | ${s.driftPerHour.toFixed(1)} | ${Math.min(...med)} … ${Math.max(...med)} |`);
  }
  console.log('\nAgainst the targets (every click within ±20 ms; drift < 20 ms per hour):');
  for (const t of tracks) {
    const s = summarize(t.errs);
    console.log(`- ${t.label}: ${s.within20 === s.clicks ? 'met' : `NOT met (${s.clicks - s.within20} clicks off or missing)`}; drift ${Math.abs(s.driftPerHour) < TARGET_MS ? 'met' : 'NOT met'} (${(Math.abs(s.driftPerHour) / TARGET_MS).toFixed(2)}× the budget)`);
  }
  const speakers = [...new Set(tracks.map((t) => t.label.replace(/^mix-/, '')))];
  const color = (label: string) => COLORS[speakers.indexOf(label.replace(/^mix-/, '')) % COLORS.length];
  const out = path.resolve(ROOT, values.out);
  mkdirSync(out, { recursive: true });
  const minutesXs = Array.from({ length: Math.ceil(endMs / 60_000) }, (_, m) => m);
  const perMinute = (errs: ClickErrors, pick: (abs: number[]) => number) =>
    minutesXs.map((m): [number, number] => {
      const abs = errs.filter((e) => e.err !== null && Math.floor(e.atMs / 60_000) === m).map((e) => Math.abs(e.err!));
      return [m, abs.length ? pick(abs) : NaN];
    });
  const svg = chartSvg(`roomcast long room, ${tracks[0].at.slice(0, 16)}Z`, minutesXs, [
    {
      title: 'Worst |error| per minute (ms)',
      yLabel: 'ms',
      xLabel: 'minute of the room',
      target: { value: TARGET_MS, label: `target ±${TARGET_MS} ms` },
      series: tracks.map((t) => ({ name: t.label, color: color(t.label), dashed: t.label.startsWith('mix-'), points: perMinute(t.errs, (a) => Math.max(...a)) })),
    },
    {
      title: 'Median |error| per minute (ms)',
      yLabel: 'ms',
      xLabel: 'minute of the room',
      series: tracks.map((t) => ({ name: t.label, color: color(t.label), dashed: t.label.startsWith('mix-'), points: perMinute(t.errs, (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]) })),
    },
  ]);
  await writeChart(svg, path.join(out, 'chart.svg'), path.join(out, 'chart.png'));
  console.log(`\nchart: ${path.relative(ROOT, path.join(out, 'chart.png'))}`);
  process.exitCode = exitCode;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
