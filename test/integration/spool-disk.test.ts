import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { watchSpool } from '../../src/ingest/spool-monitor';
import { metrics } from '../../src/shared/metrics';
import { sleep } from '../support/scenario';

/**
 * A spool disk filling up for real (an 8 MiB tmpfs; where this machine may not mount one, the test
 * folder's own disk with the limit set just below its free space): the ingest must say so — log
 * and /metrics — and stop taking rooms while files can still be written, i.e. before audio would be
 * dropped; and take rooms again once there is room.
 */
const MiB = 1024 * 1024;
let dir: string;
let mounted = false;
let limit: number;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir], { stdio: 'pipe' });
    mounted = true;
    limit = 3 * MiB;
  } catch (err) {
    console.log(`cannot mount a tmpfs here (${String(err).split('\n')[0]}); using the test folder's disk`);
    const s = statfsSync(dir);
    limit = s.bavail * s.bsize - 5 * MiB;
  }
});

afterAll(() => {
  if (mounted) execFileSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
});

test('a filling spool disk is reported, and new rooms refused, before a write fails', async () => {
  const lines: Array<{ level: number; msg: string; freeBytes?: number }> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const accepting: boolean[] = [];
  const stop = watchSpool(dir, { minFreeBytes: limit, maxSpooledBytes: 1e12 }, pino(sink), (a) => accepting.push(a), 100);
  // A spool growing like one stuck behind an S3 outage, 256 KiB at a time, until the disk is full.
  const chunk = Buffer.alloc(256 * 1024, 1);
  let written = 0;
  let refusedAt: number | null = null;
  let criticalAt: number | null = null;
  for (let i = 0; ; i++) {
    try {
      writeFileSync(path.join(dir, `chunk_${i}.flac`), chunk);
      written += chunk.length;
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
      break;
    }
    await sleep(mounted ? 150 : 20);
    if (refusedAt === null && accepting.includes(false)) refusedAt = written;
    if (criticalAt === null && lines.some((l) => /almost full/.test(l.msg))) criticalAt = written;
    if (!mounted && criticalAt !== null) break; // not filling a shared disk to the brim
  }
  console.log(`spool disk: refused new rooms after ${refusedAt} bytes, "almost full" after ${criticalAt}, full after ${written}; free metric ${(await metrics.spoolFreeBytes.get()).values[0]?.value}`);
  expect(refusedAt).not.toBeNull();
  expect(criticalAt).not.toBeNull();
  if (mounted) {
    expect(refusedAt!).toBeLessThan(written - 2 * MiB); // warned with megabytes still free
    expect(criticalAt!).toBeLessThan(written);
  }
  expect(lines.some((l) => l.level === 50 && /running low/.test(l.msg))).toBe(true);
  expect((await metrics.spoolFreeBytes.get()).values[0]!.value).toBeLessThan(limit);
  expect((await metrics.acceptingRooms.get()).values[0]!.value).toBe(0);
  // Room again (the uploader caught up): new rooms are taken again.
  for (let i = 0; i < 1000; i++) rmSync(path.join(dir, `chunk_${i}.flac`), { force: true });
  await sleep(400);
  expect(accepting.at(-1)).toBe(true);
  expect(lines.some((l) => /has room again/.test(l.msg))).toBe(true);
  stop();
});
