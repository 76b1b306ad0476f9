import os from 'node:os';

/**
 * The tests' speakers (rtc-node bots) and listeners (Chromium) stand for other people's devices,
 * which in real life do not share two cores with LiveKit, the recorder and the workers. Run the
 * test process (and what it starts) at −10, level with LiveKit and roomcast (global-setup.ts,
 * roomcast-process.ts) and ahead of the workers' FFmpeg and engines (WORKERS_NICE) and anything
 * else on the machine. Needs root (as here); else a no-op.
 */
try {
  os.setPriority(-10);
} catch {
  // not allowed: the tests still run, with clients at normal priority
}
