import { ConfigError, loadConfig } from '../../src/config';
import { makeRecordingId, RECORDING_ID, recordingPrefix, safeKey } from '../../src/contracts/layout';
import { roomOptions } from '../../src/contracts/room-metadata';

test('configuration errors name every missing or malformed variable', () => {
  let err: unknown;
  try {
    loadConfig({ LIVEKIT_URL: 'http://nope', REDIS_URL: 'redis://x' });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  const msg = (err as Error).message;
  expect(msg).toMatch(/LIVEKIT_URL: must be a ws/);
  for (const name of ['LIVEKIT_API_KEY', 'LIVEKIT_API_SECRET', 'S3_ENDPOINT', 'S3_BUCKET', 'PUBLIC_BASE_URL']) {
    expect(msg).toContain(`${name}: is missing`);
  }
});

test('room names and identities become path-safe keys', () => {
  expect(safeKey('demo-room_1')).toBe('demo-room_1');
  for (const hostile of ['..', '../../etc/passwd', 'a/b', 'ünïcödé room', '', 'x'.repeat(500), 'a\u0000b']) {
    const k = safeKey(hostile);
    expect(k).toMatch(/^[A-Za-z0-9._~-]{1,60}$/);
    expect(k).not.toContain('..');
  }
  expect(safeKey('a/b')).not.toBe(safeKey('a?b'));
  expect(recordingPrefix('../x', '20260101T000000Z-RM_a')).toMatch(/^rooms\/[^/]+\/20260101T000000Z-RM_a\/$/);
});

test('recording ids sort by time and match the id pattern', () => {
  const a = makeRecordingId(new Date('2026-11-25T20:15:00.123Z'), 'RM_abc');
  expect(a).toBe('20261125T201500Z-RM_abc');
  expect(RECORDING_ID.test(a)).toBe(true);
  expect(makeRecordingId(new Date('2026-11-25T20:15:01Z'), 'RM_abc') > a).toBe(true);
});

test('room metadata opts out of recording; anything else keeps the defaults', () => {
  expect(roomOptions(JSON.stringify({ roomcast: { record: false } })).autoRecord).toBe(false);
  expect(roomOptions('not json').autoRecord).toBe(true);
  // Fails closed: a malformed roomcast field never widens access (private, not recorded automatically).
  expect(roomOptions(JSON.stringify({ roomcast: { record: 'no' } }))).toMatchObject({ autoRecord: false, visibility: 'private' });
  expect(roomOptions(JSON.stringify({ roomcast: { visibility: 'private', record: 'no' } }))).toMatchObject({ autoRecord: false, visibility: 'private' });
  expect(roomOptions(JSON.stringify({ roomcast: { visibility: 'Private' } }))).toMatchObject({ autoRecord: false, visibility: 'private' });
  expect(roomOptions(JSON.stringify({ roomcast: { visibilty: 'private' } }))).toMatchObject({ autoRecord: false, visibility: 'private' });
  expect(roomOptions(JSON.stringify({ roomcast: null }))).toMatchObject({ autoRecord: false, visibility: 'private' });
  expect(roomOptions('{"roomcast": {"visibility": "private"')).toMatchObject({ autoRecord: false, visibility: 'private' });
  expect(roomOptions(JSON.stringify({ roomcast: { visibility: 'private' } }))).toEqual({ autoRecord: true, visibility: 'private' });
  expect(roomOptions(JSON.stringify({ app: { theme: 'dark' } }))).toEqual({ autoRecord: true, visibility: 'public' });
  expect(roomOptions(undefined)).toEqual({ autoRecord: true, visibility: 'public' });
});
