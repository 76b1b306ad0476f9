import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type IORedis from 'ioredis';
import type { RoomServiceClient } from 'livekit-server-sdk';
import type { Config } from '../../src/config';
import { makeRecordingId, recordingPrefix } from '../../src/contracts/layout';
import { Control } from '../../src/shared/control';
import { dist, Dist } from './report';
import { RoomRec, sleep, waitManifest } from './s3-watch';

/** Everything a bench phase needs: the stack's settings and clients, where logs go. */
export interface BenchContext {
  /** Environment of the roomcast processes (api, ingest). */
  env: Record<string, string>;
  cfg: Config;
  s3: S3Client;
  redis: IORedis;
  lk: RoomServiceClient;
  runId: string;
  logDir: string;
  pollMs: number;
  /** How many bot processes for this many bots. */
  botProcesses: (bots: number) => number;
  /** Niceness of the bot processes (see BotPool). */
  botsNice: number;
  /** Node flags of the measured ingest processes only (a CPU profile, say). */
  ingestNodeArgs: string[];
  /** Measure the codec floor after each load (codec-floor.ts). */
  codecFloor: boolean;
  /** Profile each load's ingest and split its JS thread by origin (js-profile.ts); the folder for the profiles. */
  jsProfileDir?: string;
}

export const logFile = (ctx: BenchContext, name: string) => {
  mkdirSync(ctx.logDir, { recursive: true });
  return path.join(ctx.logDir, `${name}.log`);
};

export const lkCreds = (ctx: BenchContext) => ({ url: ctx.cfg.LIVEKIT_URL, apiKey: ctx.cfg.LIVEKIT_API_KEY, apiSecret: ctx.cfg.LIVEKIT_API_SECRET });

/**
 * Creates `n` rooms the way a LiveKit app does (the room_started webhook makes the api enqueue the
 * record job) and waits until a recorder has joined each (its active mark in Redis has joinedAt)
 * and the manifest says "recording". Returns them and how long each took from creation.
 */
export async function createRooms(ctx: BenchContext, tag: string, n: number): Promise<{ recs: RoomRec[]; recorderStartMs: Dist }> {
  const control = new Control(ctx.redis, ctx.cfg.QUEUE_PREFIX);
  const took: number[] = [];
  const recs = await Promise.all(
    Array.from({ length: n }, async (_, index) => {
      const name = `bench-${ctx.runId}-${tag}-${index}`;
      const t0 = Date.now();
      const info = await ctx.lk.createRoom({ name, emptyTimeout: 60 });
      const prefix = recordingPrefix(name, makeRecordingId(new Date(Number(info.creationTime) * 1000), info.sid));
      for (;;) {
        const a = await control.getActive(name);
        if (a?.joinedAt) break;
        if (Date.now() - t0 > 60_000) throw new Error(`no recorder joined ${name} within 60 s`);
        await sleep(100);
      }
      took.push(Date.now() - t0);
      const m = await waitManifest(ctx.s3, ctx.cfg.S3_BUCKET, prefix, (x) => x.status === 'recording', 30_000);
      const rec: RoomRec = { room: name, index, prefix, startedAtMs: Date.parse(m.startedAt), segmentSeconds: m.hls.segmentSeconds };
      return rec;
    }),
  );
  return { recs, recorderStartMs: dist(took) };
}

/** Deletes the rooms (room_finished → stop flag) and waits until every recording is closed. */
export async function endRooms(ctx: BenchContext, recs: RoomRec[]): Promise<number> {
  const endMs = Date.now();
  await Promise.all(recs.map((r) => ctx.lk.deleteRoom(r.room).catch(() => undefined)));
  await Promise.all(recs.map((r) => waitManifest(ctx.s3, ctx.cfg.S3_BUCKET, r.prefix, (m) => m.status !== 'recording', 90_000)));
  return endMs;
}
