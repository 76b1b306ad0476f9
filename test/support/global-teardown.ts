import { stackDown } from '../../src/stack/stack';
import type { RoomcastProcess } from './roomcast-process';
import { testSettings } from './env';

export default async function globalTeardown(): Promise<void> {
  const rc = (globalThis as Record<string, unknown>).__ROOMCAST__ as RoomcastProcess | undefined;
  await rc?.stop();
  if (!process.env.ROOMCAST_KEEP_STACK) await stackDown(testSettings());
}
