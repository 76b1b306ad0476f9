import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Whose code the ingest's JS thread ran, from a V8 CPU profile (node --cpu-prof), over a window of
 * the monotonic clock (V8's profile timestamps and process.hrtime share CLOCK_MONOTONIC, in µs).
 *
 * The bench splits the ingest's CPU by thread; this splits the JS thread by origin, so the note on
 * the cost per room can say which part of it is rtc-node's FFI plumbing (its event decoding and
 * dispatch, in node_modules) and which is roomcast's own work. Node's own and native frames (a
 * socket write, a Buffer op) count for the nearest caller outside node; "(program)" is V8's name
 * for time outside JS (among it the FFI's native callbacks into JS, which no frame names).
 */
export interface JsProfileSplit {
  /** Sampled time in the window that the JS thread was busy (not idle), seconds. */
  busyS: number;
  /** Shares of busyS (0..1) by origin. */
  shares: Record<Origin, number>;
}
export type Origin =
  | 'rtc-node (FFI events, protobuf)'
  | 'roomcast: FFI hand-off (ffi-audio)'
  | 'roomcast: libFLAC (wasm)'
  | 'roomcast: the rest'
  | 'other libraries'
  | 'node, no JS caller'
  | 'native, outside JS'
  | 'garbage collector';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Whose code a frame is; undefined for node's own and native frames, which count for their caller. */
function originOf(url: string): Origin | undefined {
  if (!url || url.startsWith('node:')) return undefined;
  if (url.startsWith('wasm://') || url.includes('libflac')) return 'roomcast: libFLAC (wasm)';
  if (/node_modules\/@livekit\/|node_modules\/@bufbuild\//.test(url)) return 'rtc-node (FFI events, protobuf)';
  if (url.includes('node_modules/')) return 'other libraries';
  if (/ingest\/livekit\/ffi-audio\.js$/.test(url)) return 'roomcast: FFI hand-off (ffi-audio)';
  return 'roomcast: the rest';
}

export function splitProfile(file: string, fromUs: number, toUs: number): JsProfileSplit {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const memo = new Map<number, Origin | 'idle'>();
  const origin = (id: number): Origin | 'idle' => {
    const hit = memo.get(id);
    if (hit) return hit;
    const n = byId.get(id)!;
    let o: Origin | 'idle';
    const fn = n.callFrame.functionName;
    if (fn === '(garbage collector)') o = 'garbage collector';
    else if (fn === '(idle)') o = 'idle';
    else if (fn === '(program)') o = 'native, outside JS';
    else {
      // Node's own frames (a socket write, a timer) count for the code that called them.
      const up = parent.get(id);
      o = originOf(n.callFrame.url) ?? (up !== undefined && byId.get(up)!.callFrame.functionName !== '(root)' ? origin(up) : 'node, no JS caller');
    }
    memo.set(id, o);
    return o;
  };
  const us = {} as Record<Origin, number>;
  let t = p.startTime;
  let busy = 0;
  p.samples.forEach((id, i) => {
    t += p.timeDeltas[i];
    if (t < fromUs || t > toUs) return;
    const o = origin(id);
    // A sample's time is the gap to the next one.
    const dt = p.timeDeltas[i + 1] ?? 0;
    if (o === 'idle') return;
    us[o] = (us[o] ?? 0) + dt;
    busy += dt;
  });
  const shares = Object.fromEntries(Object.entries(us).map(([k, v]) => [k, busy ? v / busy : 0])) as Record<Origin, number>;
  return { busyS: busy / 1e6, shares };
}

/** The newest .cpuprofile in a folder (node writes one per process as it exits). */
export function newestProfile(dir: string): string | undefined {
  let best: { file: string; at: number } | undefined;
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.cpuprofile')) continue;
    const at = statSync(path.join(dir, f)).mtimeMs;
    if (!best || at > best.at) best = { file: path.join(dir, f), at };
  }
  return best?.file;
}

/** The monotonic clock in µs, as the profile's timestamps count it. */
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);
