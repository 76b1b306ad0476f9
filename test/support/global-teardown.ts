import { stackDown } from '../../src/stack/stack';
import type { RoomcastProcess } from './roomcast-process';
import { testSettings } from './env';

export default async function globalTeardown(): Promise<void> {
  const procs = ((globalThis as Record<string, unknown>).__ROOMCAST__ ?? []) as RoomcastProcess[];
  await Promise.all(procs.map((rc) => rc.stop()));
  if (!process.env.ROOMCAST_KEEP_STACK) await stackDown(testSettings());
}
