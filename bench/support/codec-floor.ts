import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { SAMPLE_RATE } from '../../src/contracts/audio';
import type { ChunkEntry } from '../../src/contracts/manifest';
import { aacCodecArgs } from '../../src/ingest/outputs/aac-encoder';
import { readManifest, RoomRec } from './s3-watch';

/**
 * What the codecs alone cost for a room's audio, as issue 15 defines the floor: one FFmpeg, files
 * in, no pipes, encoding what the room produced — the mix to AAC as the live encoder does, the mix
 * and every speaker to FLAC. Decoding the speakers' Opus (made beforehand from each speaker's
 * recorded track at WebRTC's usual 32 kb/s, 20 ms frames) is timed apart: in the ingest that work
 * happens in rtc-node's threads, not in roomcast's part. CPU-s per second of the room.
 */
export async function codecFloor(s3: S3Client, bucket: string, rec: RoomRec, bitrateKbps: number): Promise<{ seconds: number; cpuS: number; perRoomSecond: number; speakers: number; opusDecodePerRoomSecond: number }> {
  const m = await readManifest(s3, bucket, rec.prefix);
  if (!m) throw new Error(`codec floor: no manifest for ${rec.prefix}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-floor-'));
  try {
    const mix = await rawStream(s3, bucket, rec.prefix, m.mix.chunks, path.join(dir, 'mix'));
    const speakers: string[] = [];
    for (const [k, sp] of m.speakers.entries()) {
      if (!sp.chunks.length) continue;
      const raw = await rawStream(s3, bucket, rec.prefix, sp.chunks, path.join(dir, `sp${k}`));
      const opus = path.join(dir, `sp${k}.ogg`);
      ff(['-f', 's16le', '-ar', String(SAMPLE_RATE), '-ac', '1', '-i', raw.file, '-c:a', 'libopus', '-b:a', '32k', '-frame_duration', '20', '-application', 'voip', opus]);
      speakers.push(opus);
    }
    const args = [
      '-f', 's16le', '-ar', String(SAMPLE_RATE), '-ac', '1', '-i', mix.file,
      ...speakers.flatMap((f) => ['-f', 's16le', '-ar', String(SAMPLE_RATE), '-ac', '1', '-i', f.replace(/\.ogg$/, '.raw')]),
      '-map', '0', ...aacCodecArgs(bitrateKbps), '-f', 'adts', path.join(dir, 'out-mix.aac'),
      '-map', '0', '-c:a', 'flac', path.join(dir, 'out-mix.flac'),
      ...speakers.flatMap((_, k) => ['-map', String(k + 1), '-c:a', 'flac', path.join(dir, `out-sp${k}.flac`)]),
    ];
    const cpuS = childCpuS(args);
    const decodeS = childCpuS([...speakers.flatMap((f) => ['-c:a', 'libopus', '-i', f]), ...speakers.flatMap((_, k) => ['-map', String(k), '-f', 'null', '-'])]);
    const seconds = mix.samples / SAMPLE_RATE;
    return { seconds, cpuS, perRoomSecond: cpuS / seconds, speakers: speakers.length, opusDecodePerRoomSecond: decodeS / seconds };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function rawStream(s3: S3Client, bucket: string, prefix: string, chunks: ChunkEntry[], base: string): Promise<{ file: string; samples: number }> {
  const parts: Buffer[] = [];
  for (const c of chunks) {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: prefix + c.key }));
    const flac = `${base}-${c.index}.flac`;
    writeFileSync(flac, await res.Body!.transformToByteArray());
    parts.push(execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', flac, '-f', 's16le', '-'], { maxBuffer: 1 << 28 }));
  }
  const file = `${base}.raw`;
  const all = Buffer.concat(parts);
  writeFileSync(file, all);
  return { file, samples: all.length / 2 };
}

const FFMPEG = ['ffmpeg', '-hide_banner', '-nostdin', '-loglevel', 'error', '-y'];

function ff(args: string[]): void {
  execFileSync(FFMPEG[0], [...FFMPEG.slice(1), ...args]);
}

/** CPU-s (user + system) of one FFmpeg run: its shell's cutime/cstime once it was waited for. */
function childCpuS(args: string[]): number {
  const quoted = [...FFMPEG, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const stat = execFileSync('sh', ['-c', `${quoted} && cat /proc/$$/stat`], { encoding: 'utf8' });
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the comm field: cutime and cstime are fields 16 and 17 of stat, i.e. 13 and 14 here.
  return (Number(fields[13]) + Number(fields[14])) / 100;
}
