import { canTransition, FAILURE_REASONS, LifecycleError, STOP_REASONS, stopReasonOf, transition, TRANSITIONS } from '../../src/contracts/lifecycle';
import { RecordingStatus } from '../../src/contracts/manifest';
import { testManifest } from '../support/fake-s3';

const manifest = (status: RecordingStatus) => testManifest({ status });

test('a manifest without visibility or stop reason is private and has none', () => {
  const m = manifest('recording');
  expect(m.visibility).toBe('private');
  expect(m.stopReason).toBeNull();
  expect(m.error).toBeNull();
});

test('a recording goes forward: recording → finalizing → complete, never back', () => {
  const m = manifest('recording');
  transition(m, 'finalizing', { stopReason: STOP_REASONS.roomFinished });
  expect(m.status).toBe('finalizing');
  expect(m.stopReason).toBe('room finished');
  transition(m, 'complete');
  expect(m.status).toBe('complete');
  expect(() => transition(m, 'recording')).toThrow(LifecycleError);
  expect(() => transition(m, 'finalizing')).toThrow(/cannot go from complete to finalizing/);
  expect(() => transition(m, 'failed')).toThrow(LifecycleError);
  expect(m.status).toBe('complete');
});

test('a failure names its reason; completing (a retry by hand) clears it', () => {
  const m = manifest('finalizing');
  transition(m, 'failed', { error: `${FAILURE_REASONS.finalizeFailed}: ffmpeg died` });
  expect(m.status).toBe('failed');
  expect(m.error).toBe('finalize failed: ffmpeg died');
  transition(m, 'finalizing');
  expect(m.error).toBe('finalize failed: ffmpeg died');
  transition(m, 'complete');
  expect(m.error).toBeNull();
  const long = manifest('finalizing');
  transition(long, 'failed', { error: 'x'.repeat(5000) });
  expect(long.error).toHaveLength(2000);
  expect(transition(manifest('recording'), 'failed').error).toBe('failed');
});

test('every status may be deleted, and deleting leads nowhere else', () => {
  for (const from of RecordingStatus.options) expect(canTransition(from, 'deleting')).toBe(true);
  for (const to of RecordingStatus.options) expect(canTransition('deleting', to)).toBe(to === 'deleting');
  expect(() => transition(manifest('deleting'), 'complete')).toThrow(LifecycleError);
});

test('the table covers every status, and a status may stay what it is', () => {
  expect(Object.keys(TRANSITIONS).sort()).toEqual([...RecordingStatus.options].sort());
  for (const s of RecordingStatus.options) expect(canTransition(s, s)).toBe(true);
  expect(canTransition('recording', 'complete')).toBe(false);
  expect(canTransition('complete', 'failed')).toBe(false);
});

test('free-form stops map to named reasons', () => {
  expect(stopReasonOf('room finished')).toBe(STOP_REASONS.roomFinished);
  expect(stopReasonOf('stopped by alice')).toBe(STOP_REASONS.stoppedByHost);
  expect(stopReasonOf('disconnected: ROOM_DELETED')).toBe(STOP_REASONS.roomFinished);
  expect(stopReasonOf('disconnected: ROOM_CLOSED')).toBe(STOP_REASONS.roomFinished);
  expect(stopReasonOf('disconnected: DUPLICATE_IDENTITY')).toBe(STOP_REASONS.disconnected);
  expect(stopReasonOf(STOP_REASONS.roomLost)).toBe(STOP_REASONS.roomLost);
  expect(stopReasonOf('something else')).toBe(STOP_REASONS.aborted);
});
