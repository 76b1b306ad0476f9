import path from 'node:path';
import { stackAppEnv, stackSettings, ROOT } from '../../src/stack/settings';

/** The test stack: its own ports, data folder, Redis database and queue prefix, so it runs beside a demo. */
export const TEST_STACK_ENV = {
  ROOMCAST_STACK: 'test',
  ROOMCAST_LIVEKIT_PORT: '17880',
  ROOMCAST_S3_PORT: '19100',
  ROOMCAST_API_PORT: '18080',
  ROOMCAST_REDIS_URL: 'redis://127.0.0.1:6379/2',
};

export const testSettings = () => stackSettings({ ...process.env, ...TEST_STACK_ENV });
/** Presigned links live 3 s in the tests, so their expiry can be seen. */
export const testAppEnv = (): Record<string, string> => ({ ...stackAppEnv(testSettings()), LOG_LEVEL: 'info', PRESIGN_TTL_SECONDS: '3' });
export const ARTIFACTS = path.join(ROOT, 'test-artifacts');
export { ROOT };
