import path from 'node:path';
import type { ChunkEntry } from '../contracts/manifest';
import type { RecordingStore } from '../storage/recording-store';
import { feedChunks, FileStream, readChunk } from './archive/streams';

/**
 * Rebuilds one continuous stream (FLAC) from its chunks: chunk k at k·chunkSeconds, silence where
 * a chunk is missing, cut to the recording's length; the same rules as the live archive.
 */
export async function assembleChunks(o: {
  store: RecordingStore;
  chunks: ChunkEntry[];
  chunkSeconds: number;
  durationMs: number;
  workdir: string;
  name: string;
}): Promise<string> {
  const stream = new FileStream(path.join(o.workdir, `${o.name}.flac`));
  let n = 0;
  await feedChunks(stream, o.chunks, {
    read: (c) => readChunk(o.store, c, path.join(o.workdir, `${o.name}-${n++ % 2}.chunk.flac`)),
    chunkMs: o.chunkSeconds * 1000,
    endedAtMs: o.durationMs,
    settledBelow: Infinity,
  });
  return stream.finish();
}
