// Timing-sensitive files first, while the single jest process (--runInBand) is fresh: the
// 10-minute long room and the ±40 ms recording test measure audio placement to the millisecond,
// and whatever earlier files leave running in this process (closed rooms' native threads, timers)
// can delay the test's own speaker bots by hundreds of ms when they run last.
const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

const FIRST = ['recording.test.ts', 'long-room.test.ts'];

class TimingFirst extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests);
    const rank = (t) => {
      const i = FIRST.indexOf(path.basename(t.path)); // exact: api-recording.test.ts is not recording.test.ts
      return i === -1 ? FIRST.length : i;
    };
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = TimingFirst;
