import * as HLS from 'hls-parser';
import type IORedis from 'ioredis';
import { rel } from '../../contracts/layout';
import { edgeStreamKey, parseEdgeFields } from '../../contracts/live-edge';
import type { Logger } from '../../shared/log';
import { metrics } from '../../shared/metrics';
import type { EdgeCache } from '../edge-cache';
import { EdgeState } from './edge-state';

type StreamEntry = [Buffer, Buffer[]];

interface Watched {
  key: string;
  state: EdgeState;
  lastId: string;
  lastAsked: number;
  waiters: Set<() => void>;
}

/** A recording nobody asked about for this long is no longer followed. */
const IDLE_MS = 60_000;
/** XREAD's block: a stream followed from now on is read from within this. */
const BLOCK_MS = 250;

/**
 * Follows the live edge streams (contracts/live-edge.ts) of the recordings this api process is
 * asked about, over one blocking Redis connection for all of them, and wakes the requests held for
 * a part (blocking playlist reloads, preload-hinted parts) the moment it arrives.
 */
export class EdgeRelay {
  private readonly watched = new Map<string, Watched>();
  private readonly starting = new Map<string, Promise<Watched | null>>();
  private reader: IORedis | undefined;
  private running = false;
  private closed = false;

  constructor(
    private readonly redis: IORedis,
    private readonly queuePrefix: string,
    private readonly cache: EdgeCache,
    private readonly log: Logger,
  ) {}

  /** The edge of a live recording, or null when it has none (no parts in Redis: S3 serves it). */
  async state(prefix: string, recordingId: string): Promise<EdgeState | null> {
    const w = this.watched.get(recordingId) ?? (await this.start(prefix, recordingId));
    if (!w) return null;
    w.lastAsked = Date.now();
    return w.state;
  }

  /**
   * Resolves true once `ready()` holds (checked as each entry arrives), false after `timeoutMs`.
   * A new encoder run (a resume) also ends the wait, once it has a part: a request held across the
   * gap gets the new run's playlist instead of an error.
   */
  async until(recordingId: string, ready: (s: EdgeState) => boolean, timeoutMs: number): Promise<boolean> {
    const w = this.watched.get(recordingId);
    if (!w) return false;
    const run = w.state.run;
    const done = () => ready(w.state) || w.state.ended || (w.state.run !== run && w.state.partsThisRun > 0);
    if (done()) return true;
    metrics.edgeListeners.inc();
    try {
      return await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          w.waiters.delete(check);
          resolve(false);
        }, timeoutMs);
        const check = () => {
          if (!done()) return;
          clearTimeout(timer);
          w.waiters.delete(check);
          resolve(true);
        };
        w.waiters.add(check);
      });
    } finally {
      metrics.edgeListeners.dec();
    }
  }

  close(): void {
    this.closed = true;
    this.reader?.disconnect();
  }

  private start(prefix: string, recordingId: string): Promise<Watched | null> {
    let p = this.starting.get(recordingId);
    if (!p) {
      p = this.load(prefix, recordingId).finally(() => this.starting.delete(recordingId));
      this.starting.set(recordingId, p);
    }
    return p;
  }

  private async load(prefix: string, recordingId: string): Promise<Watched | null> {
    const key = edgeStreamKey(this.queuePrefix, recordingId);
    const entries = (await this.redis.xrangeBuffer(key, '-', '+')) as unknown as StreamEntry[];
    if (!entries.length) return null;
    const state = new EdgeState();
    const w: Watched = { key, state, lastId: '0', lastAsked: Date.now(), waiters: new Set() };
    this.applyAll(w, entries);
    // What went to S3 before the stream's oldest entry (the stream keeps about a minute).
    const playlist = await this.cache.get(prefix + rel.eventPlaylist, 500);
    if (playlist) {
      const parsed = HLS.parse(playlist.body.toString('utf8')) as HLS.types.MediaPlaylist;
      state.seed(parsed.segments.map((s) => ({ seq: s.mediaSequenceNumber, uri: s.uri, duration: s.duration, programDateTime: s.programDateTime!, discontinuity: !!s.discontinuity })));
    }
    // Entries that came while S3 answered.
    const more = (await this.redis.xrangeBuffer(key, `(${w.lastId}`, '+')) as unknown as StreamEntry[];
    this.applyAll(w, more);
    this.watched.set(recordingId, w);
    if (!this.running) void this.loop();
    return w;
  }

  private applyAll(w: Watched, entries: StreamEntry[]): void {
    for (const [id, fields] of entries) {
      w.lastId = id.toString();
      const e = parseEdgeFields(fields);
      if (e) w.state.apply(e.meta, e.bytes);
    }
    if (!w.waiters.size) return;
    const end = metrics.edgePartSeconds.startTimer();
    for (const check of [...w.waiters]) check();
    end();
  }

  private async loop(): Promise<void> {
    this.running = true;
    let failing = false;
    if (!this.reader) {
      this.reader = this.redis.duplicate(); // XREAD BLOCK holds its connection
      this.reader.on('error', () => undefined); // logged by the loop
    }
    const reader = this.reader;
    try {
      while (!this.closed && this.watched.size) {
        const now = Date.now();
        for (const [id, w] of this.watched) if (now - w.lastAsked > IDLE_MS && !w.waiters.size) this.watched.delete(id);
        const list = [...this.watched.values()];
        metrics.edgeBytes.set(list.reduce((n, w) => n + w.state.retainedBytes, 0));
        if (!list.length) break;
        try {
          const res = (await reader.xreadBuffer('COUNT', 500, 'BLOCK', BLOCK_MS, 'STREAMS', ...list.map((w) => w.key), ...list.map((w) => w.lastId))) as unknown as Array<[Buffer, StreamEntry[]]> | null;
          failing = false;
          for (const [key, entries] of res ?? []) {
            const w = list.find((x) => x.key === key.toString());
            if (w) this.applyAll(w, entries);
          }
        } catch (err) {
          if (this.closed) break;
          if (!failing) this.log.warn({ err }, 'live edge: reading Redis failed; retrying');
          failing = true;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    } finally {
      this.running = false;
    }
    if (!this.closed && this.watched.size) void this.loop();
  }
}
