import { spoolHealth } from '../../src/ingest/spool-monitor';

test('spool free space: ok, low below the minimum, critical below a quarter of it', () => {
  const min = 1024 * 1024 * 1024;
  expect(spoolHealth(5 * min, min)).toBe('ok');
  expect(spoolHealth(min, min)).toBe('ok');
  expect(spoolHealth(min - 1, min)).toBe('low');
  expect(spoolHealth(min / 4, min)).toBe('low');
  expect(spoolHealth(min / 4 - 1, min)).toBe('critical');
  expect(spoolHealth(0, min)).toBe('critical');
});
