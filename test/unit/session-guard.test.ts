import pino from 'pino';
import { STOP_REASONS } from '../../src/contracts/lifecycle';
import { CHECK_CONNECTED_MS, RoomState, SessionGuard, UNREACHABLE_MS } from '../../src/ingest/livekit/session-guard';

/** A recording's session rules, on a clock the test moves: LiveKit's answers are what the test says. */
function setup(room: RoomState | null | 'down' = { sid: 'RM_a', emptyTimeoutS: 30, departureTimeoutS: 10 }) {
  let now = 1_000_000;
  const state = { room, checks: 0 };
  const gaps: Array<[number, number]> = [];
  const guard = new SessionGuard({
    roomSid: 'RM_a',
    log: pino({ level: 'silent' }),
    now: () => now,
    onGap: (a, b) => gaps.push([a, b]),
    checkRoom: async () => {
      state.checks++;
      if (state.room === 'down') throw new Error('ECONNREFUSED');
      return state.room;
    },
  });
  const advance = async (ms: number, participants = 1, step = 250) => {
    let reason;
    for (let t = 0; t < ms; t += step) {
      now += step;
      reason = guard.poll(participants);
      await new Promise((r) => setImmediate(r));
    }
    return reason;
  };
  return { guard, gaps, state, advance, at: () => now };
}

test('back in the same session after losing contact: the time away is a gap, the recording goes on', async () => {
  const s = setup();
  await s.advance(1_000);
  const lost = s.at();
  s.guard.reconnecting();
  expect(await s.advance(8_000)).toBeUndefined();
  s.guard.reconnected('RM_a');
  expect(s.gaps).toEqual([[lost, lost + 8_000]]);
  expect(await s.advance(60_000)).toBeUndefined();
});

test('back in a room with another SID (LiveKit restarted): the recording ends where contact was lost', async () => {
  const s = setup();
  await s.advance(1_000);
  const lost = s.at();
  s.guard.reconnecting();
  await s.advance(4_000);
  s.guard.sessionChanged('RM_b');
  expect(await s.advance(250)).toBe(STOP_REASONS.roomLost);
  expect(s.guard.newSid).toBe('RM_b');
  expect(s.guard.lostSessionAt).toBe(lost);
  expect(s.gaps).toEqual([]);
});

test('LiveKit says the session is over (no room, or another SID) though no room_finished came: it ends within one check', async () => {
  const gone = setup();
  await gone.advance(1_000);
  gone.state.room = null;
  const t0 = gone.at();
  let reason;
  while (!(reason = await gone.advance(250)) && gone.at() - t0 < 60_000);
  expect(reason).toBe(STOP_REASONS.roomGone);
  expect(gone.at() - t0).toBeLessThanOrEqual(CHECK_CONNECTED_MS + 500);

  const moved = setup();
  moved.state.room = { sid: 'RM_c', emptyTimeoutS: 30, departureTimeoutS: 10 };
  let r2;
  while (!(r2 = await moved.advance(250)));
  expect(r2).toBe(STOP_REASONS.roomLost);
  expect(moved.guard.newSid).toBe('RM_c');
});

test('LiveKit has no room of that name after the connection dropped: lost with a restart', async () => {
  const s = setup();
  await s.advance(1_000);
  s.guard.reconnecting();
  s.state.room = null;
  let reason;
  while (!(reason = await s.advance(250)));
  expect(reason).toBe(STOP_REASONS.roomLost);
  expect(s.guard.newSid).toBeUndefined();
});

test('LiveKit gone for good: a recording outlives contact by UNREACHABLE_MS at most; LiveKit unreachable alone ends nothing', async () => {
  const s = setup('down');
  expect(await s.advance(120_000)).toBeUndefined(); // the room connection is fine: only the API is down
  const lost = s.at();
  s.guard.reconnecting();
  let reason;
  while (!(reason = await s.advance(250)));
  expect(reason).toBe(STOP_REASONS.livekitUnreachable);
  expect(s.at() - lost).toBeLessThanOrEqual(UNREACHABLE_MS + 250);
  expect(s.guard.lostSessionAt).toBe(lost);
});

test('a recorder never keeps a room alive: alone past the room\'s own timeout, it ends', async () => {
  const s = setup();
  expect(await s.advance(5_000, 2)).toBeUndefined();
  const alone = s.at();
  let reason;
  while (!(reason = await s.advance(250, 0)) && s.at() - alone < 120_000);
  expect(reason).toBe(STOP_REASONS.roomEmpty);
  // Departure timeout 10 s (people had been there) + 2 s of margin for LiveKit to end it first.
  expect(s.at() - alone).toBeGreaterThan(10_000);
  expect(s.at() - alone).toBeLessThanOrEqual(12_500);
  // Nobody ever came: the empty timeout (30 s) applies.
  const never = setup();
  let r2;
  while (!(r2 = await never.advance(250, 0)));
  expect(r2).toBe(STOP_REASONS.roomEmpty);
  expect(never.at() - 1_000_000).toBeGreaterThan(30_000);
  expect(never.at() - 1_000_000).toBeLessThanOrEqual(32_500);
});

test('out of contact, the recorder seeing nobody is not the room emptying: LiveKit unreachable ends it, after 30 s, not 12', async () => {
  const s = setup();
  expect(await s.advance(5_000, 1)).toBeUndefined();
  s.state.room = 'down';
  const lost = s.at();
  s.guard.reconnecting();
  let reason;
  while (!(reason = await s.advance(250, 0)));
  expect(reason).toBe(STOP_REASONS.livekitUnreachable);
  expect(s.at() - lost).toBeGreaterThan(UNREACHABLE_MS);
  // Back in contact (same session) with nobody there: the room's own timeout counts from then.
  const back = setup();
  await back.advance(5_000, 1);
  back.guard.reconnecting();
  await back.advance(20_000, 0);
  back.guard.reconnected('RM_a');
  const from = back.at();
  let r2;
  while (!(r2 = await back.advance(250, 0)));
  expect(r2).toBe(STOP_REASONS.roomEmpty);
  expect(back.at() - from).toBeGreaterThan(10_000);
});
