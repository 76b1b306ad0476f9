import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time and memory of a process and all its descendants, from /proc (Linux only).
 *
 * CPU is counted two ways:
 * - `cpuS` (exact while the root lives and reaps its children, as node does): the root's own
 *   utime+stime, plus its cutime+cstime (every child it has reaped, e.g. an FFmpeg that finished),
 *   plus utime+stime+cutime+cstime of every descendant alive now.
 * - `cpuLastPerPidS` (cross-check): the sum of the last utime+stime seen for every pid ever seen in
 *   the tree (misses up to one sampling interval of each child that exited between samples).
 */
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const PAGE = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim()) || 4096;

interface Stat {
  pid: number;
  ppid: number;
  comm: string;
  /** Seconds. */
  self: number;
  children: number;
  rssBytes: number;
}

function readStat(pid: number, file = `/proc/${pid}/stat`): Stat | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  // Fields after the command name, numbered as in proc(5) from field 3 (state).
  const f = text.slice(close + 2).split(' ');
  const field = (n: number) => Number(f[n - 3]);
  return {
    pid,
    ppid: field(4),
    comm,
    self: (field(14) + field(15)) / CLK_TCK,
    children: (field(16) + field(17)) / CLK_TCK,
    rssBytes: field(24) * PAGE,
  };
}

/** Proportional set size (shared pages split between their users), in bytes; null if unreadable. */
function readPss(pid: number): number | null {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export interface TreeSample {
  atMs: number;
  cpuS: number;
  cpuLastPerPidS: number;
  rssBytes: number;
  /** Only on every `pssEvery`-th sample (smaps_rollup costs more to read). */
  pssBytes?: number;
  processes: number;
  ffmpeg: number;
  /** CPU-s (self + reaped children of live processes) and RSS by command name; the root's reaped children under "reaped". */
  cpuByComm: Record<string, number>;
  rssByComm: Record<string, number>;
}

export class ProcTree {
  private readonly lastSelf = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private n = 0;
  readonly samples: TreeSample[] = [];
  /** Every pid seen in the tree (to clean up orphans after a SIGKILL of the root). */
  readonly seen = new Set<number>();

  constructor(
    readonly rootPid: number,
    private readonly pssEvery = 4,
  ) {}

  private descendants(): Stat[] {
    const all = new Map<number, Stat[]>();
    let root: Stat | null = null;
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const s = readStat(Number(name));
      if (!s) continue;
      if (s.pid === this.rootPid) root = s;
      const list = all.get(s.ppid) ?? [];
      list.push(s);
      all.set(s.ppid, list);
    }
    if (!root) return [];
    const out: Stat[] = [root];
    for (let i = 0; i < out.length; i++) out.push(...(all.get(out[i].pid) ?? []));
    return out;
  }

  /** Reads the tree now and keeps the sample. */
  sample(): TreeSample | null {
    const tree = this.descendants();
    if (tree.length === 0) return null;
    const withPss = this.n++ % this.pssEvery === 0;
    let cpu = tree[0].self + tree[0].children;
    let rss = 0;
    let pss = 0;
    for (const [i, s] of tree.entries()) {
      if (i > 0) cpu += s.self + s.children;
      rss += s.rssBytes;
      if (withPss) pss += readPss(s.pid) ?? s.rssBytes;
      this.lastSelf.set(s.pid, s.self);
      this.seen.add(s.pid);
    }
    const cpuByComm: Record<string, number> = { reaped: tree[0].children };
    const rssByComm: Record<string, number> = {};
    for (const [i, s] of tree.entries()) {
      cpuByComm[s.comm] = (cpuByComm[s.comm] ?? 0) + s.self + (i > 0 ? s.children : 0);
      rssByComm[s.comm] = (rssByComm[s.comm] ?? 0) + s.rssBytes;
    }
    // The ingest's own threads (JS main thread "node", rtc-node's native runtime, libuv, V8), by name.
    try {
      for (const t of readdirSync(`/proc/${this.rootPid}/task`)) {
        const st = readStat(Number(t), `/proc/${this.rootPid}/task/${t}/stat`);
        if (!st) continue;
        const k = `node thread: ${st.comm.replace(/[-_ ]?\d+$/, '').trim()}`;
        cpuByComm[k] = (cpuByComm[k] ?? 0) + st.self;
      }
    } catch {
      // the root exited meanwhile
    }
    let last = 0;
    for (const v of this.lastSelf.values()) last += v;
    const sample: TreeSample = {
      atMs: Date.now(),
      cpuS: cpu,
      cpuLastPerPidS: last,
      rssBytes: rss,
      pssBytes: withPss ? pss : undefined,
      processes: tree.length,
      ffmpeg: tree.filter((s) => s.comm === 'ffmpeg').length,
      cpuByComm,
      rssByComm,
    };
    this.samples.push(sample);
    return sample;
  }

  start(intervalMs = 500): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The largest total RSS (and PSS) among the samples taken in [fromMs, toMs]. */
  peak(fromMs = 0, toMs = Infinity): { rssBytes: number; pssBytes: number; ffmpeg: number; rssByComm: Record<string, number> } {
    const inWindow = this.samples.filter((s) => s.atMs >= fromMs && s.atMs <= toMs);
    const top = inWindow.reduce<TreeSample | undefined>((a, s) => (!a || s.rssBytes > a.rssBytes ? s : a), undefined);
    return {
      rssByComm: top?.rssByComm ?? {},
      rssBytes: Math.max(0, ...inWindow.map((s) => s.rssBytes)),
      pssBytes: Math.max(0, ...inWindow.map((s) => s.pssBytes ?? 0)),
      ffmpeg: Math.max(0, ...inWindow.map((s) => s.ffmpeg)),
    };
  }

  /** Median RSS/PSS over [fromMs, toMs] (the idle level before any room). */
  median(fromMs: number, toMs: number): { rssBytes: number; pssBytes: number } {
    const inWindow = this.samples.filter((s) => s.atMs >= fromMs && s.atMs <= toMs);
    const med = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] : 0);
    return { rssBytes: med(inWindow.map((s) => s.rssBytes)), pssBytes: med(inWindow.flatMap((s) => (s.pssBytes === undefined ? [] : [s.pssBytes]))) };
  }
}

/** CPU-s spent between two samples, by command name (FFmpeg that exited in between: "reaped"). */
export function cpuSplit(a: TreeSample, b: TreeSample): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a.cpuByComm), ...Object.keys(b.cpuByComm)])) {
    const d = (b.cpuByComm[k] ?? 0) - (a.cpuByComm[k] ?? 0);
    if (Math.abs(d) > 1e-9) out[k] = +d.toFixed(2);
  }
  return out;
}

/** Own CPU seconds (user + system) of this process, for reporting the bench's own load. */
export const ownCpuS = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
