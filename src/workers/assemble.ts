import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChunkEntry } from '../contracts/manifest';
import { runFfmpeg } from '../shared/ffmpeg';

/**
 * Rebuilds one continuous stream from its FLAC chunks: chunk k at k·chunkSeconds, silence where a
 * chunk is missing (before a speaker joined, or a gap after a crash), cut to the recording's length.
 */
export async function assembleChunks(o: {
  s3: S3Client;
  bucket: string;
  prefix: string;
  chunks: ChunkEntry[];
  chunkSeconds: number;
  durationMs: number;
  workdir: string;
  name: string;
}): Promise<string> {
  const count = Math.ceil(o.durationMs / 1000 / o.chunkSeconds);
  const byIndex = new Map(o.chunks.map((c) => [c.index, c]));
  const silence = path.join(o.workdir, `silence-${o.chunkSeconds}.flac`);
  let haveSilence = false;
  // Each entry states its length: the FLAC muxer can leave a wrong total in a chunk's header.
  const list: Array<{ file: string; seconds: number }> = [];
  for (let k = 0; k < count; k++) {
    const c = byIndex.get(k);
    if (c) {
      const file = path.join(o.workdir, `${o.name}-${k}.flac`);
      const obj = await o.s3.send(new GetObjectCommand({ Bucket: o.bucket, Key: o.prefix + c.key }));
      await writeFile(file, await obj.Body!.transformToByteArray());
      list.push({ file, seconds: c.durationMs / 1000 });
    } else {
      if (!haveSilence) {
        await runFfmpeg(['-v', 'error', '-f', 'lavfi', '-i', `anullsrc=r=48000:cl=mono`, '-t', String(o.chunkSeconds), '-c:a', 'flac', '-y', silence]);
        haveSilence = true;
      }
      list.push({ file: silence, seconds: o.chunkSeconds });
    }
  }
  const listFile = path.join(o.workdir, `${o.name}.txt`);
  const quote = (f: string) => `'${f.replace(/'/g, "'\\''")}'`;
  await writeFile(listFile, list.map((e) => `file ${quote(e.file)}\nduration ${e.seconds.toFixed(4)}`).join('\n') + '\n');
  const out = path.join(o.workdir, `${o.name}.flac`);
  await runFfmpeg([
    '-v', 'error', '-f', 'concat', '-safe', '0', '-i', listFile,
    '-t', (o.durationMs / 1000).toFixed(3), '-c:a', 'flac', '-y', out,
  ]);
  return out;
}
