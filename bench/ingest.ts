/**
 * The ingest benchmark: N concurrent rooms × 4 talking speaker bots (DTX on) for S seconds, one N
 * after another, each on a fresh ingest-only roomcast process (`roomcast start --role ingest`):
 * 1. ingest CPU-seconds per room-second, FFmpeg children included (/proc, the whole process tree);
 * 2. RSS of the tree (node + FFmpeg): peak, and (peak − idle) per room (PSS too: RSS counts shared
 *    libraries once per FFmpeg);
 * 3. sound leaving a bot → its HLS segment readable in S3, and segment close → readable (p50/p95);
 * 4. then a separate phase: an ingest SIGKILLed under --resume-rooms rooms, a fresh one started at
 *    once; kill → recording resumed, per room.
 * Results: a table on stdout, results.json and chart.png/svg in --out.
 *
 *   npx tsx bench/ingest.ts [--rooms 1,5,10,20] [--seconds 60] [--out bench-results/ingest]
 *                           [--resume-rooms 5] [--kill-after 15] [--poll-ms 100] [--bot-processes auto]
 *                           [--bots-nice 0] [--keep-stack] [--ingest-node-args="--cpu-prof"]
 *                           [--baseline <git ref>] [--no-floor] [--js-profile]
 *
 * --baseline: that commit is built beside this checkout (bench-results/builds/) and measured first at
 * every N, then this build: an A/B in one run, printed side by side with ratios. After each load the
 * codec floor (support/codec-floor.ts) — one FFmpeg doing the codecs' work for the first room's
 * audio — is measured on the idle machine and set against roomcast's own part (--no-floor skips it).
 * --js-profile: each load's ingest runs under node --cpu-prof, and its JS thread is split by origin
 * over the talking seconds (support/js-profile.ts): rtc-node's FFI event plumbing against roomcast.
 *
 * It brings up its own local stack ("bench": LiveKit 27880, S3 29100, api 28080, Redis db 3 unless
 * the ROOMCAST_* variables say otherwise), runs one `--role api` process for the LiveKit webhooks
 * and never the workers role. The bots run in child processes of this one, never in the ingest;
 * how late they ran is reported (on a small machine they may not keep real time at large N).
 * The stack is stopped at the end if this run started it (--keep-stack keeps it).
 *
 * Definitions: "readable" = the first poll (every --poll-ms) whose live playlist lists the segment,
 * confirmed by a GET of the segment (playlists only list what is in S3); "close" = the segment's
 * EXT-X-PROGRAM-DATE-TIME + EXTINF (= recording start + end of its audio on the timeline); a beep
 * sent at T is mapped to the segment holding T + 40 ms (the network/jitter path, report.ts).
 * bin/roomcast runs dist/: build first (scripts/setup.sh or npm run build); results.json says
 * which commit and which uncommitted src/ files the measured build came from.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import IORedis from 'ioredis';
import { loadConfig } from '../src/config';
import { roomService } from '../src/shared/livekit';
import { makeS3Client } from '../src/storage/s3';
import { daemonPid, portOpen } from '../src/stack/daemon';
import { stackDown, stackUp } from '../src/stack/stack';
import { ROOT, stackAppEnv, stackSettings } from '../src/stack/settings';
import { baselineBuild, CURRENT } from './support/builds';
import { BenchContext, logFile } from './support/context';
import { runLoad, runResume } from './support/phases';
import { LoadResult, printReport, ResumeResult, writeResults } from './support/report';
import { Roomcast } from './support/roomcast';

const { values } = parseArgs({
  options: {
    rooms: { type: 'string', default: '1,5,10,20' },
    seconds: { type: 'string', default: '60' },
    out: { type: 'string', default: 'bench-results/ingest' },
    'resume-rooms': { type: 'string', default: '5' },
    'kill-after': { type: 'string', default: '15' },
    'poll-ms': { type: 'string', default: '100' },
    'bot-processes': { type: 'string', default: 'auto' },
    'bots-nice': { type: 'string', default: '0' },
    'keep-stack': { type: 'boolean', default: false },
    // e.g. "--cpu-prof --cpu-prof-dir=bench-results/prof": where the ingest's own CPU goes.
    'ingest-node-args': { type: 'string', default: '' },
    // A git ref built beside this checkout and run before this build at every N (A/B in one run).
    baseline: { type: 'string' },
    'no-floor': { type: 'boolean', default: false },
    // Profile each load's ingest (node --cpu-prof) and split its JS thread by origin: rtc-node's FFI plumbing vs roomcast.
    'js-profile': { type: 'boolean', default: false },
  },
});

const BENCH_STACK = {
  ROOMCAST_STACK: 'bench',
  ROOMCAST_LIVEKIT_PORT: '27880',
  ROOMCAST_S3_PORT: '29100',
  ROOMCAST_API_PORT: '28080',
  ROOMCAST_REDIS_URL: 'redis://127.0.0.1:6379/3',
};

async function main(): Promise<void> {
  const roomsList = values.rooms.split(',').map(Number);
  const seconds = Number(values.seconds);
  const resumeRooms = Number(values['resume-rooms']);
  const killAfter = Number(values['kill-after']);
  if (roomsList.some((n) => !Number.isInteger(n) || n < 1) || !(seconds > 0) || !(killAfter > 0) || !Number.isInteger(resumeRooms)) {
    throw new Error('--rooms takes positive integers (1,5,10), --seconds and --kill-after positive numbers, --resume-rooms an integer (0: no resume phase)');
  }
  for (const [k, v] of Object.entries(BENCH_STACK)) process.env[k] ??= v;
  const settings = stackSettings();
  const out = path.resolve(ROOT, values.out);
  mkdirSync(out, { recursive: true });

  // The stack is left as found: stopped at the end only if this run started it.
  const wasUp = !!daemonPid({ name: 'livekit-server', runDir: path.join(settings.dataDir, 'run') });
  await stackUp(settings);
  if (await portOpen(settings.apiPort)) throw new Error(`port ${settings.apiPort} (api) is taken: another bench or roomcast runs on this stack`);

  const runId = Date.now().toString(36);
  const spool = path.join(settings.dataDir, `spool-${runId}`);
  const env = { ...stackAppEnv(settings), QUEUE_PREFIX: `roomcast-bench-${runId}`, SPOOL_DIR: spool, LOG_LEVEL: 'info' };
  const cfg = loadConfig({ ...env });
  const redis = new IORedis(cfg.REDIS_URL, { maxRetriesPerRequest: 3 });
  const auto = values['bot-processes'] === 'auto';
  const ctx: BenchContext = {
    env,
    cfg,
    s3: makeS3Client(cfg),
    redis,
    lk: roomService(cfg),
    runId,
    logDir: path.join(out, 'logs', runId),
    pollMs: Number(values['poll-ms']),
    // rtc-node runs each bot's media on native threads; ~20 bots per process keeps each event loop light.
    botProcesses: (bots) => (auto ? Math.max(1, Math.min(4, Math.ceil(bots / 20))) : Number(values['bot-processes'])),
    botsNice: Number(values['bots-nice']),
    ingestNodeArgs: values['ingest-node-args'].split(' ').filter(Boolean),
    codecFloor: !values['no-floor'],
    jsProfileDir: values['js-profile'] ? path.join(out, 'profiles', runId) : undefined,
  };
  console.log(`ingest bench ${runId}: rooms ${roomsList.join(', ')} × ${seconds} s; resume phase ${resumeRooms ? `${resumeRooms} rooms, kill after ${killAfter} s` : 'off'}; logs in ${ctx.logDir}`);
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  const build = buildInfo();
  console.log(`measuring dist/ built ${build.distBuiltAt ?? '(missing)'} from ${String(build.commit).slice(0, 10)}${build.uncommittedInSrc?.length ? ` + ${build.uncommittedInSrc.length} uncommitted change(s) in src/` : ''}`);
  const baseline = values.baseline ? baselineBuild(values.baseline) : undefined;
  if (baseline) console.log(`A/B: ${baseline.label} (${baseline.root}) then this build, at every N`);
  const api = new Roomcast('api', env, ['api'], logFile(ctx, 'api'));
  await api.start();
  const loads: LoadResult[] = [];
  const resumes: ResumeResult[] = [];
  let failure: unknown;
  try {
    for (const n of roomsList) {
      if (baseline) loads.push(await runLoad(ctx, n, seconds, baseline));
      loads.push(await runLoad(ctx, n, seconds, CURRENT));
    }
    if (resumeRooms > 0) {
      if (baseline) resumes.push(await runResume(ctx, resumeRooms, killAfter, baseline));
      resumes.push(await runResume(ctx, resumeRooms, killAfter, CURRENT));
    }
  } catch (err) {
    failure = err; // what was measured before it is still reported
  } finally {
    await api.stop('SIGTERM');
    // This run's queue and control keys (its own prefix), and its spool (empty once all was uploaded).
    const keys = await redis.keys(`${env.QUEUE_PREFIX}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    ctx.s3.destroy();
    rmSync(spool, { recursive: true, force: true });
    if (!wasUp && !values['keep-stack']) await stackDown(settings);
  }
  printReport(loads, resumes);
  const meta = {
    runId,
    build,
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGB: +(os.totalmem() / 2 ** 30).toFixed(1) },
    settings: { segmentSeconds: cfg.HLS_SEGMENT_SECONDS, mixLatencyMs: cfg.MIX_LATENCY_MS, pollMs: ctx.pollMs, speakersPerRoom: 4, dtx: true, botsNice: ctx.botsNice },
  };
  if (loads.length || resumes.length) {
    await writeResults(out, meta, loads, resumes);
    console.log(`\nresults: ${path.join(out, 'results.json')}, chart: ${path.join(out, 'chart.png')}`);
  }
  if (failure) throw failure;
}

/** What was measured: bin/roomcast runs dist/, which may hold uncommitted changes of src/. */
function buildInfo(): { commit: string | null; uncommittedInSrc: string[] | null; distBuiltAt: string | null } {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trimEnd();
    } catch {
      return null;
    }
  };
  const built = path.join(ROOT, 'dist', '.built');
  return {
    commit: git('rev-parse', 'HEAD'),
    uncommittedInSrc: git('status', '--porcelain', '--', 'src')?.split('\n').filter(Boolean) ?? null,
    distBuiltAt: existsSync(built) ? statSync(built).mtime.toISOString() : null,
  };
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
