import type { JsProfileSplit } from './js-profile';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BotLateness } from './bots';
import { chartSvg, writeChart } from './chart';
import type { PlaylistEntry, RoomRec, SegSeen } from './s3-watch';
import type { Beep } from './script';

export const TARGETS = { cpuPerRoomSecond: 0.02, closeToReadableMs: 1000, resumeMs: 10_000 };
/**
 * Network + jitter buffer between a bot and the recorder: a sample sent at T is placed at about
 * T + this on the recording's timeline (recording.test.ts measures onsets within −25…+12 ms of the
 * send time plus the path). Only used to pick the segment that holds a beep's onset.
 */
export const PATH_MS = 40;

export interface Dist {
  n: number;
  p50: number | null;
  p95: number | null;
  max: number | null;
}

export function dist(xs: number[]): Dist {
  const s = [...xs].sort((a, b) => a - b);
  const pct = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : null);
  return { n: s.length, p50: pct(50), p95: pct(95), max: s.length ? s[s.length - 1] : null };
}

export interface SegmentCounts {
  /** Whole segments the room's time on the timeline should have produced (up to its end, less a resume gap). */
  expected: number;
  /** Distinct segments seen in S3 (live polling or the final event playlist). */
  seen: number;
  /** Holes in the sequence numbers, or fewer segments than expected, whichever is more. */
  missing: number;
  /** Listed in the live playlist while a GET could not read it yet. */
  listedUnreadable: number;
  /** In the final playlist but never seen while polling the live one (poller too slow). */
  neverSeenLive: number;
}

/** Every segment seen, per room, for a closer look: [seq, PDT ms, duration s, listed at ms, readable at ms | null, discontinuity]. */
export interface RawSegments {
  epochMs: number;
  endMs: number;
  rooms: Array<{ room: string; startedAtMs: number; segments: Array<[number, number, number, number, number | null, boolean]> }>;
}

export function rawSegments(epochMs: number, endMs: number, rooms: RoomRec[], segs: Map<string, Map<number, SegSeen>>): RawSegments {
  return {
    epochMs,
    endMs,
    rooms: rooms.map((r) => ({
      room: r.room,
      startedAtMs: r.startedAtMs,
      segments: [...(segs.get(r.room)?.values() ?? [])].sort((a, b) => a.seq - b.seq).map((s) => [s.seq, s.pdtMs, s.durS, s.listedAtMs, s.readableAtMs ?? null, s.discontinuity]),
    })),
  };
}

export interface LoadResult {
  /** Which build ran (builds.ts): this checkout's, or the baseline's. */
  build: string;
  rooms: number;
  seconds: number;
  cpu: {
    /** Ingest tree CPU over the S seconds all rooms were recording with bots talking. */
    steadyS: number;
    steadyPerRoomSecond: number;
    /** Ingest tree CPU from before the rooms were created until every recording was closed. */
    totalS: number;
    totalPerRoomSecond: number;
    /** Cross-check of steadyS: sum of the last utime+stime seen per pid. */
    steadyLastPerPidS: number;
    /** Idle ingest before any room, CPU-s per s. */
    idlePerSecond: number;
    /** steadyS by process name (node = the ingest itself, rtc-node's threads included). */
    steadyByProcess: Record<string, number>;
  };
  memory: { idleRssMB: number; peakRssMB: number; rssPerRoomMB: number; idlePssMB: number; peakPssMB: number; pssPerRoomMB: number; peakFfmpeg: number; rssAtPeakByProcessMB: Record<string, number> };
  soundToS3Ms: Dist & { unmapped: number };
  closeToReadableMs: Dist & { over1s: number };
  segments: SegmentCounts;
  /** Room created → manifest says recording. */
  recorderStartMs: Dist;
  bots: BotLateness;
  /** CPU-s of the bench process itself (polling, bookkeeping) over the S seconds. */
  benchCpuS: number;
  /** Live playlist polls of the S3 watcher, and the failed ones. */
  polls: { count: number; errors: number };
  /** The machine's 1-minute load average at the end of the S seconds (other work on it skews delays). */
  loadAvg1m: number;
  raw: RawSegments;
  /** One FFmpeg doing the codecs' work for the first room's audio (codec-floor.ts). */
  codecFloor?: { seconds: number; cpuS: number; perRoomSecond: number; speakers: number; opusDecodePerRoomSecond: number };
  /** The JS thread by origin over the talking seconds (--js-profile; the profiler itself costs a few per cent). */
  jsProfile?: JsProfileSplit;
}

export interface ResumeRoom {
  room: string;
  /** Kill → a new recorder has joined the room (its active mark in Redis: new owner, joinedAt), as resume.test.ts measures. */
  recorderJoinedMs: number | null;
  /** Kill → first manifest with a gap whose reason mentions resume. */
  manifestGapMs: number | null;
  /** Kill → first segment after EXT-X-DISCONTINUITY listed (and readable) in S3. */
  firstSegmentMs: number | null;
  gapLengthMs: number | null;
}

export interface ResumeResult {
  build: string;
  rooms: number;
  killedAfterS: number;
  /** Kill → the new ingest process logged "roomcast started". */
  newIngestStartedMs: number;
  perRoom: ResumeRoom[];
  recorderJoinedMs: Dist;
  manifestGapMs: Dist;
  firstSegmentMs: Dist;
  segments: SegmentCounts;
  orphansKilled: number;
  killAtMs: number;
  raw: RawSegments;
}

/** Sound → S3 delays: each beep's onset mapped to the segment that holds it, then first readable − sent. */
export function soundToS3(beeps: Beep[], epochMs: number, segs: Map<string, Map<number, SegSeen>>, skip: (b: Beep) => boolean): LoadResult['soundToS3Ms'] {
  const delays: number[] = [];
  let unmapped = 0;
  for (const b of beeps) {
    if (skip(b)) continue;
    const sent = epochMs + b.atMs;
    const at = sent + PATH_MS;
    const seg = [...(segs.get(b.room)?.values() ?? [])].find((s) => s.pdtMs <= at && at < s.pdtMs + s.durS * 1000);
    if (seg?.readableAtMs === undefined) unmapped++;
    else delays.push(seg.readableAtMs - sent);
  }
  return { ...dist(delays), unmapped };
}

/** Segment close (its PDT + duration, i.e. recording start + the end of its audio) → readable in S3. */
export function closeToReadable(list: SegSeen[]): LoadResult['closeToReadableMs'] {
  const ds = list.filter((s) => s.readableAtMs !== undefined).map((s) => s.readableAtMs! - (s.pdtMs + s.durS * 1000));
  return { ...dist(ds), over1s: ds.filter((d) => d > TARGETS.closeToReadableMs).length };
}

export function countSegments(r: RoomRec, seen: Map<number, SegSeen>, final: PlaylistEntry[], endMs: number, gapMs = 0): SegmentCounts {
  const all = new Set([...seen.keys(), ...final.map((f) => f.seq)]);
  const expected = Math.floor((endMs - r.startedAtMs - gapMs) / (r.segmentSeconds * 1000));
  // Sequence numbers run on across a resume, so a hole is a segment that never reached S3.
  const holes = all.size ? Math.max(...all) + 1 - all.size : 0;
  return {
    expected,
    seen: all.size,
    missing: Math.max(holes, expected - all.size),
    listedUnreadable: [...seen.values()].filter((s) => s.listedUnreadable).length,
    neverSeenLive: final.filter((f) => !seen.has(f.seq)).length,
  };
}

export function addCounts(cs: SegmentCounts[]): SegmentCounts {
  const sum = (k: keyof SegmentCounts) => cs.reduce((a, c) => a + c[k], 0);
  return { expected: sum('expected'), seen: sum('seen'), missing: sum('missing'), listedUnreadable: sum('listedUnreadable'), neverSeenLive: sum('neverSeenLive') };
}

const f = (v: number | null, d = 0) => (v === null || !Number.isFinite(v) ? '–' : v.toFixed(d));
const ratio = (v: number | null, target: number) => (v === null ? '–' : `${(v / target).toFixed(2)}× target${v <= target ? ' (ok)' : ' (OVER)'}`);

export function printReport(loads: LoadResult[], resumes: ResumeResult[]): void {
  console.log('\n## Ingest benchmark (4 speakers per room, DTX on)\n');
  console.log('| build | N | CPU-s per room-s (steady) | CPU-s per room-s (create→closed) | RSS total peak MB | RSS per room MB | PSS per room MB | sound→S3 p50 / p95 ms | close→readable p50 / p95 ms | missing segments | bots max late ms |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const l of loads) {
    console.log(
      `| ${l.build} | ${l.rooms} | ${l.cpu.steadyPerRoomSecond.toFixed(4)} | ${l.cpu.totalPerRoomSecond.toFixed(4)} | ${l.memory.peakRssMB.toFixed(0)} | ${l.memory.rssPerRoomMB.toFixed(1)} | ${l.memory.pssPerRoomMB.toFixed(1)} ` +
        `| ${f(l.soundToS3Ms.p50)} / ${f(l.soundToS3Ms.p95)} | ${f(l.closeToReadableMs.p50)} / ${f(l.closeToReadableMs.p95)} | ${l.segments.missing} of ${l.segments.expected} | ${l.bots.maxBehindMs.toFixed(0)}${l.bots.botsOver30Ms ? ` (${l.bots.botsOver30Ms} bots > 30 ms: audio skipped)` : ''} |`,
    );
  }
  console.log('\nAgainst the targets:');
  for (const l of loads) {
    console.log(`- N=${l.rooms}: CPU ${ratio(l.cpu.steadyPerRoomSecond, TARGETS.cpuPerRoomSecond)}; segment in S3 after close, p95 ${ratio(l.closeToReadableMs.p95, TARGETS.closeToReadableMs)}, ${l.closeToReadableMs.over1s} of ${l.closeToReadableMs.n} segments over 1 s; machine load (1 min) ${l.loadAvg1m.toFixed(1)} on ${os.cpus().length} CPUs`);
    console.log(`  ingest CPU-s while talking, by process/thread: ${Object.entries(l.cpu.steadyByProcess).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    const parts = cpuParts(l);
    console.log(`  per room-second: roomcast's own part (JS thread + encoder processes) ${parts.own.toFixed(4)}, rtc-node's threads ${parts.rtc.toFixed(4)}${l.codecFloor ? `; codec floor ${l.codecFloor.perRoomSecond.toFixed(4)} (one FFmpeg from files: AAC + FLAC of the mix, FLAC of ${l.codecFloor.speakers} speakers, over ${l.codecFloor.seconds.toFixed(0)} s of room 0) → own part ${(parts.own / l.codecFloor.perRoomSecond).toFixed(2)}× the floor; the speakers' Opus decode ${l.codecFloor.opusDecodePerRoomSecond.toFixed(4)} (rtc-node's threads do it in the ingest)` : ''}`);
    if (l.jsProfile) {
      const js = (l.cpu.steadyByProcess['node thread: node'] ?? 0) / (l.rooms * l.seconds);
      const shares = Object.entries(l.jsProfile.shares).sort((x, y) => y[1] - x[1]);
      const theirs = l.jsProfile.shares['rtc-node (FFI events, protobuf)'] ?? 0;
      const ownLessRtc = parts.own - js * theirs;
      console.log(`  JS thread by origin (CPU profile, ${l.jsProfile.busyS.toFixed(1)} s busy): ${shares.map(([k, v]) => `${k} ${(v * 100).toFixed(0)} %`).join(', ')}`);
      console.log(`  → rtc-node's JS part ${(js * theirs).toFixed(4)} CPU-s per room-s; roomcast's own part without it ${ownLessRtc.toFixed(4)}${l.codecFloor ? ` = ${(ownLessRtc / l.codecFloor.perRoomSecond).toFixed(2)}× the floor` : ''}`);
    }
    const b = l.bots;
    const kept = b.botsOver30Ms === 0 && b.failedJoins === 0;
    console.log(`  bots (${b.bots} in ${b.processes} processes, ${b.cpuS.toFixed(1)} CPU-s while talking): ${kept ? 'kept real time' : 'DID NOT keep real time'} (pump max ${b.maxBehindMs.toFixed(0)} ms behind, event loop p99 ${b.loopDelayP99Ms.toFixed(0)} ms / max ${b.loopDelayMaxMs.toFixed(0)} ms; all joined within ${(b.maxJoinMs / 1000).toFixed(1)} s, ${b.failedJoins} failed)`);
  }
  const builds = [...new Set(loads.map((l) => l.build))];
  if (builds.length > 1) {
    console.log(`\n## ${builds[1]} against ${builds[0]} (ratios, same run)\n`);
    for (const n of [...new Set(loads.map((l) => l.rooms))]) {
      const [a, b] = builds.map((x) => loads.find((l) => l.build === x && l.rooms === n));
      if (!a || !b) continue;
      const r = (x: number, y: number) => `${y.toFixed(4)} → ${x.toFixed(4)} (${(x / y).toFixed(2)}×)`;
      console.log(`- N=${n}: CPU-s per room-s ${r(b.cpu.steadyPerRoomSecond, a.cpu.steadyPerRoomSecond)}; own part ${r(cpuParts(b).own, cpuParts(a).own)}; PSS per room MB ${r(b.memory.pssPerRoomMB, a.memory.pssPerRoomMB)}; RSS per room MB ${r(b.memory.rssPerRoomMB, a.memory.rssPerRoomMB)}; idle RSS MB ${r(b.memory.idleRssMB, a.memory.idleRssMB)}`);
    }
  }
  for (const resume of resumes) {
    console.log(`\n## Resume after SIGKILL, ${resume.build} (${resume.rooms} rooms, killed ${resume.killedAfterS} s in; a standby ingest was started (${resume.newIngestStartedMs} ms) just before the kill)\n`);
    console.log('| room | kill → new recorder joined ms | kill → gap in manifest ms | kill → first segment after discontinuity in S3 ms | gap length ms |');
    console.log('|---|---|---|---|---|');
    for (const r of resume.perRoom) console.log(`| ${r.room} | ${f(r.recorderJoinedMs)} | ${f(r.manifestGapMs)} | ${f(r.firstSegmentMs)} | ${f(r.gapLengthMs)} |`);
    console.log(`\nResume, kill → first segment after the discontinuity in S3: p50 ${f(resume.firstSegmentMs.p50)} ms, max ${f(resume.firstSegmentMs.max)} ms: ${ratio(resume.firstSegmentMs.max, TARGETS.resumeMs)}`);
    console.log(`Kill → new recorder in the room (resume.test.ts's measure): p50 ${f(resume.recorderJoinedMs.p50)} ms, max ${f(resume.recorderJoinedMs.max)} ms; rooms not resumed within 45 s: ${resume.perRoom.filter((r) => r.firstSegmentMs === null).length}; missing segments outside the gap: ${resume.segments.missing} of ${resume.segments.expected}`);
  }
}

/** CPU-s per room-second: roomcast's own (the JS thread, FFmpeg) and rtc-node's native threads. */
function cpuParts(l: LoadResult): { own: number; rtc: number } {
  const by = l.cpu.steadyByProcess;
  const roomS = l.rooms * l.seconds;
  const rtc = Object.entries(by).filter(([k]) => k.startsWith('node thread: ') && k !== 'node thread: node').reduce((t, [, v]) => t + v, 0);
  return { own: ((by['node thread: node'] ?? 0) + (by.ffmpeg ?? 0)) / roomS, rtc: rtc / roomS };
}

export async function writeResults(out: string, meta: Record<string, unknown>, loads: LoadResult[], resumes: ResumeResult[]): Promise<void> {
  writeFileSync(path.join(out, 'results.json'), JSON.stringify({ ...meta, targets: TARGETS, loads, resumes }, null, 2) + '\n');
  const resume = resumes[resumes.length - 1];
  // The chart shows the build measured last (this checkout's); results.json holds both.
  const charted = loads.filter((l) => l.build === loads[loads.length - 1]?.build);
  const xs = charted.map((l) => l.rooms);
  const pts = (g: (l: LoadResult) => number | null): Array<[number, number]> => charted.map((l) => [l.rooms, g(l) ?? NaN]);
  const svg = chartSvg(`roomcast ingest, ${loads[0]?.seconds ?? 0} s per N, ${new Date().toISOString().slice(0, 16)}Z${resume ? `; resume after SIGKILL (N=${resume.rooms}): ${resume.firstSegmentMs.n} of ${resume.rooms} rooms resumed within 45 s${resume.firstSegmentMs.n ? `, kill → first segment max ${f(resume.firstSegmentMs.max)} ms` : ''}` : ''}`, xs, [
    {
      title: 'Ingest CPU per room-second (FFmpeg included)',
      yLabel: 'CPU-s per room-s',
      target: { value: TARGETS.cpuPerRoomSecond, label: `target ≤ ${TARGETS.cpuPerRoomSecond}` },
      series: [
        { name: 'steady (rooms recording)', color: '#1f77b4', points: pts((l) => l.cpu.steadyPerRoomSecond) },
        { name: 'create → closed', color: '#1f77b4', dashed: true, points: pts((l) => l.cpu.totalPerRoomSecond) },
      ],
    },
    {
      title: 'Delay to S3 (ms)',
      yLabel: 'ms',
      target: { value: TARGETS.closeToReadableMs, label: 'target: close → readable ≤ 1 s' },
      series: [
        { name: 'sound → S3 p50', color: '#2ca02c', points: pts((l) => l.soundToS3Ms.p50) },
        { name: 'sound → S3 p95', color: '#2ca02c', dashed: true, points: pts((l) => l.soundToS3Ms.p95) },
        { name: 'close → readable p50', color: '#ff7f0e', points: pts((l) => l.closeToReadableMs.p50) },
        { name: 'close → readable p95', color: '#ff7f0e', dashed: true, points: pts((l) => l.closeToReadableMs.p95) },
      ],
    },
  ]);
  await writeChart(svg, path.join(out, 'chart.svg'), path.join(out, 'chart.png'));
}
