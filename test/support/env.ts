import path from 'node:path';
import { stackAppEnv, stackSettings, ROOT } from '../../src/stack/settings';

/**
 * The test stack: its own ports, data folder, Redis and queue prefix, so it runs beside a demo.
 * ROOMCAST_TEST_PORT_SHIFT moves it (e.g. 20000: a second test stack for the hour-long room while
 * the suite runs; only the long-room test uses no other fixed ports).
 */
const SHIFT = Number(process.env.ROOMCAST_TEST_PORT_SHIFT ?? 0);
/** Added to every fixed test port. */
export const PORT_SHIFT = SHIFT;
export const TEST_STACK_ENV = {
  ROOMCAST_STACK: SHIFT ? `test-${SHIFT}` : 'test',
  ROOMCAST_LIVEKIT_PORT: String(17880 + SHIFT),
  ROOMCAST_S3_PORT: String(19100 + SHIFT),
  ROOMCAST_API_PORT: String(18080 + SHIFT),
  // Its own Redis (persistent, like production's), so a test can restart it under a live room.
  ROOMCAST_REDIS_PORT: String(16379 + SHIFT),
};

export const testSettings = () => stackSettings({ ...process.env, ...TEST_STACK_ENV });
/** Presigned links live 3 s in the tests, so their expiry can be seen. */
export const testAppEnv = (): Record<string, string> => ({
  ...stackAppEnv(testSettings()),
  LOG_LEVEL: 'info',
  PRESIGN_TTL_SECONDS: '3',
  // The suite's own requests (the access table alone makes ~1500 a minute) are not what the limits
  // are for; test/integration/api-ops.test.ts checks the limits on a process of its own.
  RATE_LIMIT_PER_MINUTE: '100000',
  HLS_RATE_LIMIT_PER_MINUTE: '100000',
  RATE_LIMIT_PER_TOKEN_PER_MINUTE: '100000',
});
export const ARTIFACTS = path.join(ROOT, 'test-artifacts', ...(SHIFT ? [`test-${SHIFT}`] : []));
export { ROOT };
