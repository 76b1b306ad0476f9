import { dispose } from '@livekit/rtc-node';

/** Runs a bench that uses rtc-node in this process: releases the FFI, then exits (its threads would keep the process alive). */
export function runRtcBench(main: () => Promise<void>): void {
  main()
    .then(() => dispose())
    .then(() => process.exit(0))
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
