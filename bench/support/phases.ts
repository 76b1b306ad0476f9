import os from 'node:os';
import path from 'node:path';
import { Control } from '../../src/shared/control';
import { BenchContext, createRooms, endRooms, lkCreds, logFile } from './context';
import { BotLateness, BotPool, BotRun } from './bots';
import { cpuSplit, ownCpuS, ProcTree } from './proc-tree';
import { addCounts, closeToReadable, countSegments, dist, LoadResult, rawSegments, ResumeResult, ResumeRoom, soundToS3 } from './report';
import { Build, CURRENT } from './builds';
import { codecFloor } from './codec-floor';
import { monotonicUs, newestProfile, splitProfile } from './js-profile';
import { killLeftovers, Roomcast } from './roomcast';
import { rel } from '../../src/contracts/layout';
import { getText, parsePlaylist, readManifest, RoomRec, S3Watch, sleep } from './s3-watch';
import { Beep, roomScript, SPEAKERS_PER_ROOM } from './script';

const MB = 1024 * 1024;

/** Beeps a bot could not send: it failed to join (or, in principle, joined after the beep). */
function unsent(run: BotRun): (b: Beep) => boolean {
  const joined = new Map(run.joins.map((j) => [`${j.room}/${j.identity}`, j.error ? Infinity : j.joinedAtMs]));
  return (b) => (joined.get(`${b.room}/${b.identity}`) ?? Infinity) > run.epochMs + b.atMs - 200;
}

/** Rooms with talking bots for `seconds`, from the epoch on; `during` runs meanwhile. */
async function withBots<T>(ctx: BenchContext, tag: string, recs: RoomRec[], seconds: number, during: (run: BotRun) => Promise<T>): Promise<{ run: BotRun; beeps: Beep[]; bots: BotLateness; result: T }> {
  const scripts = recs.map((r) => roomScript(r.room, r.index, seconds));
  const bots = scripts.flatMap((s) => s.bots);
  const pool = new BotPool(bots, ctx.botProcesses(bots.length), logFile(ctx, `bots-${tag}`), ctx.botsNice);
  try {
    const run = await pool.start(lkCreds(ctx));
    const result = await during(run);
    const lateness = await pool.stop(run);
    return { run, beeps: scripts.flatMap((s) => s.beeps), bots: lateness, result };
  } finally {
    pool.kill();
  }
}

/**
 * N rooms × 4 speakers for S seconds on a fresh ingest-only process: its CPU and memory (FFmpeg
 * children included), sound → S3 and segment close → S3 delays.
 */
export async function runLoad(ctx: BenchContext, n: number, seconds: number, build: Build = CURRENT): Promise<LoadResult> {
  const tag = `n${n}${build === CURRENT ? '' : '-base'}`;
  const profDir = ctx.jsProfileDir && path.join(ctx.jsProfileDir, tag);
  const nodeArgs = profDir ? [...ctx.ingestNodeArgs, '--cpu-prof', `--cpu-prof-dir=${profDir}`] : ctx.ingestNodeArgs;
  const ingest = new Roomcast(`ingest-${tag}`, { ...ctx.env, INGEST_CONCURRENCY: String(Math.max(20, n)) }, ['ingest'], logFile(ctx, `ingest-${tag}`), nodeArgs, build.root);
  await ingest.start();
  let firstRoom: RoomRec | undefined;
  let result: LoadResult;
  let window: readonly [number, number] | undefined;
  const tree = new ProcTree(ingest.pid);
  tree.start(500);
  try {
    await sleep(3000); // idle: the process has settled
    const before = tree.sample()!;
    const first = tree.samples[0];
    const idle = tree.median(first.atMs + 1000, before.atMs);
    console.log(`N=${n}: ingest pid ${ingest.pid} idle (RSS ${(idle.rssBytes / MB).toFixed(0)} MB); creating ${n} rooms`);
    const { recs, recorderStartMs } = await createRooms(ctx, tag, n);
    firstRoom = recs[0];
    const watch = new S3Watch(ctx.s3, ctx.cfg.S3_BUCKET, ctx.pollMs);
    watch.start(recs);
    const { run, beeps, bots, result: steady } = await withBots(ctx, tag, recs, seconds, async (run) => {
      console.log(`N=${n}: ${n * SPEAKERS_PER_ROOM} bots joined; talking for ${seconds} s from the epoch`);
      await sleep(run.epochMs - Date.now());
      const c0 = tree.sample()!;
      const b0 = ownCpuS();
      const us0 = monotonicUs();
      await sleep(run.epochMs + seconds * 1000 - Date.now());
      const c1 = tree.sample()!;
      return { c0, c1, benchCpuS: ownCpuS() - b0, load: os.loadavg()[0], window: [us0, monotonicUs()] as const };
    });
    const endMs = await endRooms(ctx, recs);
    const closed = tree.sample()!;
    await sleep(300);
    await watch.stop();
    const finals = await Promise.all(recs.map((r) => watch.finalPlaylist(r)));
    const segs = recs.flatMap((r) => [...watch.segs.get(r.room)!.values()]);
    // Segments closed on time while the rooms ran (not the last one, flushed at the room's end).
    const onTime = segs.filter((s) => s.pdtMs + s.durS * 1000 >= run.epochMs && s.pdtMs + s.durS * 1000 <= endMs - 1000);
    const peak = tree.peak(before.atMs, closed.atMs);
    const roomS = n * seconds;
    result = {
      build: build.label,
      rooms: n,
      seconds,
      cpu: {
        steadyS: steady.c1.cpuS - steady.c0.cpuS,
        steadyPerRoomSecond: (steady.c1.cpuS - steady.c0.cpuS) / roomS,
        totalS: closed.cpuS - before.cpuS,
        totalPerRoomSecond: (closed.cpuS - before.cpuS) / roomS,
        steadyLastPerPidS: steady.c1.cpuLastPerPidS - steady.c0.cpuLastPerPidS,
        idlePerSecond: (before.cpuS - first.cpuS) / ((before.atMs - first.atMs) / 1000),
        steadyByProcess: cpuSplit(steady.c0, steady.c1),
      },
      memory: {
        idleRssMB: idle.rssBytes / MB,
        peakRssMB: peak.rssBytes / MB,
        rssPerRoomMB: (peak.rssBytes - idle.rssBytes) / MB / n,
        idlePssMB: idle.pssBytes / MB,
        peakPssMB: peak.pssBytes / MB,
        pssPerRoomMB: (peak.pssBytes - idle.pssBytes) / MB / n,
        peakFfmpeg: peak.ffmpeg,
        rssAtPeakByProcessMB: Object.fromEntries(Object.entries(peak.rssByComm).map(([k, v]) => [k, +(v / MB).toFixed(1)])),
      },
      soundToS3Ms: soundToS3(beeps, run.epochMs, watch.segs, unsent(run)),
      closeToReadableMs: closeToReadable(onTime),
      segments: addCounts(recs.map((r, i) => countSegments(r, watch.segs.get(r.room)!, finals[i], endMs))),
      recorderStartMs,
      bots,
      benchCpuS: steady.benchCpuS,
      polls: { count: watch.polls, errors: watch.pollErrors },
      loadAvg1m: steady.load,
      raw: rawSegments(run.epochMs, endMs, recs, watch.segs),
    };
    if (profDir) window = steady.window;
  } finally {
    tree.stop();
    await ingest.stop('SIGTERM');
  }
  const profile = profDir && window && newestProfile(profDir);
  if (profile && window) result.jsProfile = splitProfile(profile, window[0], window[1]);
  // With the ingest gone: the codecs' own cost for the first room's audio, on an idle machine.
  if (ctx.codecFloor && firstRoom) result.codecFloor = await codecFloor(ctx.s3, ctx.cfg.S3_BUCKET, firstRoom, ctx.cfg.HLS_BITRATE_KBPS);
  return result;
}

/**
 * N rooms recorded by one ingest; `killAfterS` into the talk it is SIGKILLed and a fresh ingest is
 * started at once. Per room: kill → a new recorder in the room, kill → the manifest's resume gap,
 * kill → first segment after the discontinuity readable in S3.
 */
export async function runResume(ctx: BenchContext, n: number, killAfterS: number, build: Build = CURRENT): Promise<ResumeResult> {
  const tag = build === CURRENT ? 'resume' : 'resume-base';
  const first = new Roomcast(`ingest-${tag}-a`, ctx.env, ['ingest'], logFile(ctx, `ingest-${tag}-a`), ctx.ingestNodeArgs, build.root);
  const second = new Roomcast(`ingest-${tag}-b`, ctx.env, ['ingest'], logFile(ctx, `ingest-${tag}-b`), ctx.ingestNodeArgs, build.root);
  await first.start();
  const tree = new ProcTree(first.pid, 1_000_000);
  tree.start(500);
  let orphansKilled = 0;
  const control = new Control(ctx.redis, ctx.cfg.QUEUE_PREFIX);
  try {
    const { recs } = await createRooms(ctx, tag, n);
    const watch = new S3Watch(ctx.s3, ctx.cfg.S3_BUCKET, ctx.pollMs);
    watch.start(recs);
    const { run, result } = await withBots(ctx, 'resume', recs, killAfterS + 60, async (run) => {
      await sleep(run.epochMs + killAfterS * 1000 - Date.now());
      tree.sample();
      tree.stop();
      const owners = await Promise.all(recs.map(async (r) => (await control.getActive(r.room))?.owner));
      // A standby ingest already running, as deployments should have (README: run at least two).
      const standbyAt = Date.now();
      await second.start();
      const started = Date.now() - standbyAt;
      const killAt = Date.now();
      await first.stop('SIGKILL');
      console.log(`resume: SIGKILLed ingest ${tree.rootPid} ${killAfterS} s into the talk; the standby takes over`);
      const perRoom: ResumeRoom[] = await Promise.all(recs.map((r, i) => resumeOf(ctx, r, watch, killAt, owners[i])));
      await sleep(6000); // a few segments after the resume
      return { started, perRoom, killAt };
    });
    // FFmpeg children of the killed ingest end on their own when their stdin closes; any left are ours to end.
    orphansKilled = killLeftovers([...tree.seen].filter((p) => p !== tree.rootPid), ctx.env.SPOOL_DIR).length;
    const endMs = await endRooms(ctx, recs);
    await sleep(300);
    await watch.stop();
    const counts = await Promise.all(
      recs.map(async (r, i) => {
        const gap = result.perRoom[i].gapLengthMs ?? 0;
        return countSegments(r, watch.segs.get(r.room)!, await watch.finalPlaylist(r), endMs, gap);
      }),
    );
    return {
      build: build.label,
      rooms: n,
      killedAfterS: killAfterS,
      newIngestStartedMs: result.started,
      perRoom: result.perRoom,
      recorderJoinedMs: dist(result.perRoom.flatMap((r) => (r.recorderJoinedMs === null ? [] : [r.recorderJoinedMs]))),
      manifestGapMs: dist(result.perRoom.flatMap((r) => (r.manifestGapMs === null ? [] : [r.manifestGapMs]))),
      firstSegmentMs: dist(result.perRoom.flatMap((r) => (r.firstSegmentMs === null ? [] : [r.firstSegmentMs]))),
      segments: addCounts(counts),
      orphansKilled,
      killAtMs: result.killAt,
      raw: rawSegments(run.epochMs, endMs, recs, watch.segs),
    };
  } finally {
    tree.stop();
    await first.stop('SIGKILL');
    await second.stop('SIGTERM');
    killLeftovers(tree.seen, ctx.env.SPOOL_DIR);
  }
}

/** Polls one room after the kill until it is resumed every way a client can see it (or 45 s pass). */
async function resumeOf(ctx: BenchContext, r: RoomRec, watch: S3Watch, killAt: number, oldOwner: string | undefined): Promise<ResumeRoom> {
  const control = new Control(ctx.redis, ctx.cfg.QUEUE_PREFIX);
  const res: ResumeRoom = { room: r.room, recorderJoinedMs: null, manifestGapMs: null, firstSegmentMs: null, gapLengthMs: null };
  // The first segment of the resumed recorder, by its sequence number in the event playlist (which
  // keeps the discontinuity): the live window may never show it flagged, since a resumed recorder
  // writes the gap's silence at once and the flagged segment can slide out between two polls.
  let resumedSeq: number | undefined;
  const segAfter = () =>
    resumedSeq === undefined
      ? undefined
      : [...watch.segs.get(r.room)!.values()].filter((s) => s.seq >= resumedSeq! && s.readableAtMs !== undefined).sort((a, b) => a.seq - b.seq)[0];
  let lastManifest = 0;
  while (Date.now() - killAt < 45_000 && (res.recorderJoinedMs === null || res.manifestGapMs === null || res.firstSegmentMs === null)) {
    if (res.recorderJoinedMs === null) {
      const a = await control.getActive(r.room).catch(() => null);
      if (a?.owner && a.owner !== oldOwner && a.joinedAt) res.recorderJoinedMs = Date.now() - killAt;
    }
    if (res.manifestGapMs === null && Date.now() - lastManifest > 300) {
      lastManifest = Date.now();
      const g = (await readManifest(ctx.s3, ctx.cfg.S3_BUCKET, r.prefix).catch(() => null))?.gaps.find((x) => /resum/i.test(x.reason));
      if (g) {
        res.manifestGapMs = Date.now() - killAt;
        res.gapLengthMs = g.toMs - g.fromMs;
      }
    }
    if (resumedSeq === undefined && res.manifestGapMs !== null) {
      const text = await getText(ctx.s3, ctx.cfg.S3_BUCKET, r.prefix + rel.eventPlaylist);
      resumedSeq = text ? parsePlaylist(text).find((s) => s.discontinuity)?.seq : undefined;
    }
    const seg = segAfter();
    if (res.firstSegmentMs === null && seg) res.firstSegmentMs = seg.readableAtMs! - killAt;
    await sleep(100);
  }
  return res;
}
