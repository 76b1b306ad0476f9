import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { watchSpool } from '../../src/ingest/spool/spool-monitor';
import { metrics } from '../../src/shared/metrics';
import { sleep } from '../support/scenario';

/**
 * A spool disk filling up for real: an 8 MiB tmpfs this test mounts itself (CI runs as root). The
 * ingest must say so — log and /metrics — and stop taking rooms while files can still be written,
 * i.e. before audio would be dropped; and take rooms again once there is room. Without the tmpfs
 * the point of the test (what happens at the brim of a full disk) cannot be checked, so a machine
 * that cannot mount one fails here, loudly, rather than passing a weaker test.
 */
const MiB = 1024 * 1024;
const TMPFS_MAGIC = 0x01021994;
const SIZE = 8 * MiB;
/** SPOOL_MIN_FREE_MB of this test: new rooms are refused below 3 MiB free, "almost full" below a quarter of it. */
const LIMIT = 3 * MiB;
let dir: string | undefined;
let mounted = false;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE / 1024}k`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    const e = err as { message?: string; stderr?: Buffer };
    throw new Error(
      `spool-disk.test.ts must mount its own ${SIZE / MiB} MiB tmpfs on ${dir} and could not ` +
        `(${String(e.stderr ?? '').trim() || e.message}); run the suite as root (as CI does) ` +
        'or in a container allowed to mount (CAP_SYS_ADMIN). This test is not skipped.',
    );
  }
  mounted = true;
  // It really is the small tmpfs, not the folder's own disk (a mount that silently did nothing).
  const s = statfsSync(dir);
  if (s.type !== TMPFS_MAGIC || s.blocks * s.bsize !== SIZE) {
    throw new Error(`${dir} is not an ${SIZE / MiB} MiB tmpfs after mounting one (type 0x${s.type.toString(16)}, ${s.blocks * s.bsize} bytes)`);
  }
});

afterAll(() => {
  if (!dir) return;
  if (mounted) execFileSync('umount', [dir], { stdio: 'pipe' });
  rmSync(dir, { recursive: true, force: true });
});

test('a filling spool disk is reported, and new rooms refused, before a write fails', async () => {
  const disk = dir!;
  const lines: Array<{ level: number; msg: string; freeBytes?: number }> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const accepting: boolean[] = [];
  const stop = watchSpool(disk, { minFreeBytes: LIMIT, maxSpooledBytes: 1e12 }, pino(sink), (a) => accepting.push(a), 100);
  try {
    // A spool growing like one stuck behind an S3 outage, 256 KiB at a time, until the disk is full.
    const chunk = Buffer.alloc(256 * 1024, 1);
    let written = 0;
    let refusedAt: number | null = null;
    let criticalAt: number | null = null;
    let full: string | undefined;
    // 8 MiB holds 32 chunks: a disk still taking writes after twice that is not the tmpfs.
    for (let i = 0; i < 2 * (SIZE / chunk.length); i++) {
      try {
        writeFileSync(path.join(disk, `chunk_${i}.flac`), chunk);
        written += chunk.length;
      } catch (err) {
        full = (err as NodeJS.ErrnoException).code;
        break;
      }
      await sleep(150); // the monitor reads the disk every 100 ms
      if (refusedAt === null && accepting.includes(false)) refusedAt = written;
      if (criticalAt === null && lines.some((l) => /almost full/.test(l.msg))) criticalAt = written;
    }
    console.log(`spool disk (${SIZE / MiB} MiB tmpfs): refused new rooms after ${refusedAt} bytes, "almost full" after ${criticalAt}, full (${full}) after ${written}; free metric ${(await metrics.spoolFreeBytes.get()).values[0]?.value}`);
    expect(full).toBe('ENOSPC');
    expect(refusedAt).not.toBeNull();
    expect(criticalAt).not.toBeNull();
    // Refused below 3 MiB free, i.e. after ~5 MiB of 8: warned with megabytes still free.
    expect(refusedAt!).toBeLessThan(written - 2 * MiB);
    // "Almost full" below 0.75 MiB free: said while writes still succeeded.
    expect(criticalAt!).toBeLessThan(written);
    expect(lines.some((l) => l.level === 50 && /running low/.test(l.msg))).toBe(true);
    expect(lines.some((l) => l.level === 50 && /almost full/.test(l.msg))).toBe(true);
    expect((await metrics.spoolFreeBytes.get()).values[0]!.value).toBeLessThan(LIMIT / 4);
    expect((await metrics.acceptingRooms.get()).values[0]!.value).toBe(0);
    // Room again (the uploader caught up): new rooms are taken again.
    for (const f of readdirSync(disk)) rmSync(path.join(disk, f), { force: true });
    await sleep(400);
    expect(accepting.at(-1)).toBe(true);
    expect(lines.some((l) => /has room again/.test(l.msg))).toBe(true);
    expect((await metrics.acceptingRooms.get()).values[0]!.value).toBe(1);
  } finally {
    stop();
  }
});
