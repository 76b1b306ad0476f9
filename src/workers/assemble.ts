import type { S3Client } from '@aws-sdk/client-s3';
import path from 'node:path';
import type { ChunkEntry } from '../contracts/manifest';
import { feedChunks, FileStream, readChunk } from './archive/streams';

/**
 * Rebuilds one continuous stream (FLAC) from its chunks: chunk k at k·chunkSeconds, silence where
 * a chunk is missing, cut to the recording's length; the same rules as the live archive.
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
  const stream = new FileStream(path.join(o.workdir, `${o.name}.flac`));
  let n = 0;
  await feedChunks(stream, o.chunks, {
    read: (c) => readChunk(o.s3, o.bucket, o.prefix + c.key, c, path.join(o.workdir, `${o.name}-${n++ % 2}.chunk.flac`)),
    chunkMs: o.chunkSeconds * 1000,
    endedAtMs: o.durationMs,
    settledBelow: Infinity,
  });
  return stream.finish();
}
