import os from 'node:os';

/**
 * The tests' speakers (rtc-node bots) and listeners (Chromium) stand for other people's devices,
 * which in real life do not share two cores with LiveKit, the recorder and the workers. Run the
 * test process (and what it starts) ahead of the system under test so a busy machine delays the
 * recorder, not the clock of the audio it is measured against. Needs root (as here); else a no-op.
 */
try {
  os.setPriority(-10);
} catch {
  // not allowed: the tests still run, with clients at normal priority
}
