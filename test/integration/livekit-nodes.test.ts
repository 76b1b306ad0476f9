import path from 'node:path';
import { dispose } from '@livekit/rtc-node';
import { GAP_REASONS, STOP_REASONS } from '../../src/contracts/lifecycle';
import type { Manifest } from '../../src/contracts/manifest';
import { alive, type DaemonSpec } from '../../src/stack/daemon';
import { PORT_SHIFT, testAppEnv, testSettings } from '../support/env';
import { LivekitCluster } from '../support/livekit-cluster';
import { checkAgainstSpec } from '../support/openapi';
import { RoomcastProcess } from '../support/roomcast-process';
import { testS3 } from '../support/s3';
import { Burst, runScenario, ScenarioResult, sleep } from '../support/scenario';
import { clicksIn, expectSteadyClicks, settledRecordings, showClicks } from '../support/session-parts';

/**
 * Multi-node LiveKit, as operators scale it: two livekit-server nodes sharing Redis behind a TCP
 * balancer, webhooks from both to a roomcast of its own. Two rooms, one on each node (the selector
 * puts a room on the node with fewest). The node holding the first is SIGKILLed: its speaker and
 * the recorder come back through the balancer to the other node, which makes the room again from
 * its state in Redis, with the same SID: the same session, so one recording with the time away as
 * a gap. Then the other node is drained (SIGTERM: LiveKit's graceful shutdown, which waits for
 * every participant to leave) under both live rooms: one is ended by its host, the other simply
 * left by everyone, and LiveKit closes it (the recorder is a dependent participant).
 */
const env = testAppEnv();
const { s3, bucket } = testS3(env);
const apiPort = 18100 + PORT_SHIFT;
const api = `http://127.0.0.1:${apiPort}`;
const cluster = new LivekitCluster({ webhookUrl: `${api}/v1/webhooks/livekit` });
const clusterEnv = {
  ...env,
  LIVEKIT_URL: cluster.url,
  API_PORT: String(apiPort),
  PUBLIC_BASE_URL: api,
  QUEUE_PREFIX: `${env.QUEUE_PREFIX}-nodes`,
  SPOOL_DIR: path.join(testSettings().dataDir, 'spool-nodes'),
};
const roomcast = new RoomcastProcess('roomcast-nodes', clusterEnv);
const stamp = Date.now();
const killed = `nodes-kill-${stamp}`;
const drained = `nodes-drain-${stamp}`;
const KILL_AT = 8_000;
// LiveKit counts a node as gone once its stats are 5 s old: the speaker comes back after that.
const REJOIN_AT = 15_000;
const RESTART_AT = 18_000;
const DRAIN_AT = 20_000;
const KILLED_END = 27_500;
const DRAINED_END = 22_000; // on the drained room's own script clock, which starts ≈ 5 s later
const grid = (speaker: string, freq: number, untilMs: number): Burst[] => Array.from({ length: Math.floor((untilMs - 1_000) / 1_000) }, (_, k) => ({ speaker, freq, atMs: 1_000 + k * 1_000, durMs: 50, dbfs: -12 }));
/** How far a click may sit from its recording's median placement (see expectSteadyClicks). */
const SPREAD_MS = 70;
const killedClicks = grid('ann', 1000, KILLED_END);
const drainedClicks = grid('ben', 1500, DRAINED_END);

let killedRun: ScenarioResult;
let drainedRun: ScenarioResult;
const placed: Record<string, DaemonSpec | undefined> = {};
let killedAt = 0;
let drainAt = 0;
let drainedNodeExitedAt = 0;
let drainEnded: Promise<void> = Promise.resolve();
let killedParts: Manifest[] = [];
let drainedParts: Manifest[] = [];

beforeAll(async () => {
  await cluster.start();
  await roomcast.start();
  try {
    const killedScript = runScenario({
      env: clusterEnv,
      room: killed,
      speakers: [{ identity: 'ann', freq: 1000, presence: [[0, KILL_AT + 500], [REJOIN_AT, KILLED_END]] }],
      bursts: killedClicks,
      events: [],
      endMs: KILLED_END + 300,
      during: async (_stopped, epoch) => {
        placed[killed] = await cluster.nodeOf(killed);
        await sleep(epoch + KILL_AT - Date.now());
        const victim = (await cluster.nodeOf(killed))!;
        killedAt = Date.now();
        process.kill(cluster.pid(victim)!, 'SIGKILL');
        await sleep(epoch + RESTART_AT - Date.now());
        // Back empty, so the drain below leaves the cluster a node for new rooms.
        await cluster.startNode(victim);
        await sleep(epoch + DRAIN_AT - Date.now());
        const draining = (await cluster.nodeOf(drained))!;
        const pid = cluster.pid(draining)!;
        drainAt = Date.now();
        process.kill(pid, 'SIGTERM');
        drainEnded = (async () => {
          while (alive(pid) && Date.now() - drainAt < 90_000) await sleep(100);
          drainedNodeExitedAt = alive(pid) ? 0 : Date.now();
        })();
      },
    });
    // The second room once LiveKit's node stats count the first (every 2 s), so it goes to the other node.
    await sleep(4_000);
    const drainedScript = runScenario({
      env: clusterEnv,
      room: drained,
      speakers: [{ identity: 'ben', freq: 1500, presence: [[0, DRAINED_END]] }],
      bursts: drainedClicks,
      events: [],
      endMs: DRAINED_END + 300,
      keepRoom: true,
      during: async () => {
        placed[drained] = await cluster.nodeOf(drained);
      },
    });
    [killedRun, drainedRun] = await Promise.all([killedScript, drainedScript]);
    killedParts = await settledRecordings(s3, bucket, killed, { atLeast: 1, timeoutMs: 60_000 });
    drainedParts = await settledRecordings(s3, bucket, drained, { atLeast: 1, timeoutMs: 60_000 });
    await drainEnded;
    const at = (ms: number, from: number) => `${((ms - from) / 1000).toFixed(1)} s`;
    console.log(
      [
        `rooms: ${killed} on ${placed[killed]?.name}, ${drained} on ${placed[drained]?.name}; balancer connections per node port ${JSON.stringify(Object.fromEntries(cluster.balancer.served))}`,
        `killed ${placed[killed]?.name} ${at(killedAt, killedRun.epochMs)} into its room; recordings: ${killedParts.map((m) => `${m.recordingId} (${m.durationMs} ms, ${m.stopReason}, settled ${at(Date.parse(m.updatedAt), killedRun.endedAtMs)} after its room ended)`).join('; ')}`,
        `drained ${placed[drained]?.name} ${at(drainAt, drainedRun.epochMs)} into ${drained}; everyone left ${at(drainedRun.endedAtMs, drainedRun.epochMs)} in; the node exited ${drainedNodeExitedAt ? at(drainedNodeExitedAt, drainedRun.endedAtMs) : 'never'} after; recordings: ${drainedParts.map((m) => `${m.recordingId} (${m.durationMs} ms, ${m.stopReason}, settled ${at(Date.parse(m.updatedAt), drainedRun.endedAtMs)} after everyone left)`).join('; ')}`,
      ].join('\n'),
    );
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}, 240_000);

afterAll(async () => {
  await roomcast.stop();
  await cluster.stop();
  s3.destroy();
  await dispose();
});

test('rooms on either node are recorded, each reached through the balancer', () => {
  expect(placed[killed]).toBeDefined();
  expect(placed[drained]).toBeDefined();
  expect(placed[killed]!.name).not.toBe(placed[drained]!.name);
  // Every client (bots, recorders, RoomService calls) came in through the balancer, and it spread them over both nodes.
  const perNode = Object.fromEntries(cluster.nodes.map((n) => [n.name, cluster.balancer.served.get(n.port) ?? 0]));
  expect({ perNode, bothUsed: Object.values(perNode).every((c) => c > 0) }).toEqual({ perNode, bothUsed: true });
  for (const m of [...killedParts, ...drainedParts]) expect(m.status).toBe('complete');
});

test('the node holding a live room is killed: the room comes back on the other node in the same session, one recording with the time away as a gap', async () => {
  expect(killedParts).toHaveLength(1);
  const [m] = killedParts;
  expect(m.recordingId.endsWith(m.roomSid.replace(/[^A-Za-z0-9_]/g, ''))).toBe(true);
  expect(m.stopReason).toBe(STOP_REASONS.roomFinished);
  expect(m.continues ?? null).toBeNull();
  expect(m.continuedBy ?? null).toBeNull();
  // The time away, named, where it was: from the kill to the recorder's return (LiveKit takes a node for gone after 5 s).
  const killedOnTimeline = killedAt - Date.parse(m.startedAt);
  const away = m.gaps.filter((g) => g.reason === GAP_REASONS.lostContact);
  console.log(`${killed}: gaps ${JSON.stringify(m.gaps)}; the kill at ${killedOnTimeline} ms of the recording`);
  expect(away).toHaveLength(1);
  expect(away[0].fromMs - killedOnTimeline).toBeGreaterThanOrEqual(-100);
  expect(away[0].fromMs - killedOnTimeline).toBeLessThanOrEqual(2_000);
  expect(away[0].toMs - away[0].fromMs).toBeLessThanOrEqual(10_000);
  expect(Date.parse(m.updatedAt) - killedRun.endedAtMs).toBeLessThanOrEqual(30_000);

  // Every click before the kill and after the speaker's return, in the one recording.
  const got = await clicksIn(s3, bucket, m, { speaker: 'ann', clicks: killedClicks, epochMs: killedRun.epochMs });
  const before = got.filter((c) => c.atMs < KILL_AT - 200);
  const after = got.filter((c) => c.atMs > REJOIN_AT + 2_500); // the rejoined track's first click sits in its jitter buffer's settling (up to 170 ms seen)
  console.log(`clicks of ${killed}: before the kill ${showClicks(before)}; after the return ${showClicks(after)} (ms from the script's place)`);
  expect(before.length).toBeGreaterThanOrEqual(6);
  expect(after.length).toBeGreaterThanOrEqual(7);
  // Two LiveKit nodes, roomcast and the bots on two cores: jitter buffers here swing by up to
  // ~65 ms (README, LiveKit faults), against ±45 ms on one node.
  for (const part of [before, after]) expectSteadyClicks(part, SPREAD_MS);

  // The listing shows one recording, linked to nothing.
  const list = (await (await fetch(`${api}/v1/rooms/${killed}/recordings`)).json()) as any;
  checkAgainstSpec('get', '/v1/rooms/{room}/recordings', 200, list);
  expect(list.recordings.map((x: any) => [x.recordingId, x.continues ?? null, x.continuedBy ?? null])).toEqual([[m.recordingId, null, null]]);
});

test('a drained node ends its rooms cleanly: the recorder does not hold the drain, each recording is complete with every click', async () => {
  // The drain waits for every participant: it ends once LiveKit has closed the room everyone left
  // (departure timeout 10 s) and its next check (every 5 s) finds nobody.
  expect(drainedNodeExitedAt).toBeGreaterThan(0);
  expect(drainedNodeExitedAt - drainedRun.endedAtMs).toBeLessThanOrEqual(18_000);
  expect(drainedParts).toHaveLength(1);
  const [m] = drainedParts;
  expect(m.status).toBe('complete');
  expect(m.stopReason).toBe(STOP_REASONS.roomFinished);
  expect(Date.parse(m.updatedAt) - drainedRun.endedAtMs).toBeLessThanOrEqual(30_000);
  // Its recorder's signalling may have gone through the killed node: then it lost contact for about
  // a second (a named gap; audio from the kill until the reconnect is lost) and its jitter buffer
  // settled again over a few seconds. Every click before the kill and from 6 s after it on, the
  // drain included, is there and on one clock.
  const got = await clicksIn(s3, bucket, m, { speaker: 'ben', clicks: drainedClicks, epochMs: drainedRun.epochMs });
  const wall = (atMs: number) => drainedRun.epochMs + atMs;
  const undisturbed = got.filter((c) => wall(c.atMs) < killedAt - 300 || wall(c.atMs) > killedAt + 6_000);
  console.log(`clicks of ${drained}: ${showClicks(got)} (ms from the script's place; the kill of the other node at ${killedAt - drainedRun.epochMs} ms); gaps ${JSON.stringify(m.gaps)}`);
  expect(m.gaps.every((g) => g.reason === GAP_REASONS.lostContact && g.toMs - g.fromMs < 5_000)).toBe(true);
  expect(undisturbed.filter((c) => wall(c.atMs) > drainAt).length).toBeGreaterThanOrEqual(5);
  expectSteadyClicks(undisturbed, SPREAD_MS);
  // Nothing is left recording or live.
  const live = (await (await fetch(`${api}/v1/rooms`)).json()) as any;
  expect(live.rooms.map((x: any) => x.room)).toEqual(expect.not.arrayContaining([killed, drained]));
});
