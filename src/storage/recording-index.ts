import { ListObjectsV2Command, PutObjectCommand, DeleteObjectsCommand, S3Client } from '@aws-sdk/client-s3';
import { safeKey } from '../contracts/layout';

/**
 * A listing index in S3 so that "newest first, paginated" is one LIST call however many rooms
 * there are: an empty object per recording whose key sorts newest first (inverted start time) and
 * says where the recording is. S3 lists keys in order, and StartAfter is the page cursor.
 *
 *   index/all/{inverted}/{recordingId}/{public|private}/{safeRoom}
 *   index/rooms/{safeRoom}/{inverted}/{recordingId}/{public|private}
 */
export interface IndexEntry {
  recordingId: string;
  /** The room's key in S3 (recordingPrefix uses it). */
  roomKey: string;
  visibility: 'public' | 'private';
  startedAt: Date;
}

const MAX_MS = 99_999_999_999_999;
const inverted = (d: Date) => String(MAX_MS - d.getTime()).padStart(14, '0');

export function indexKeys(room: string, recordingId: string, visibility: 'public' | 'private', startedAt: Date): string[] {
  const r = safeKey(room);
  return [`index/all/${inverted(startedAt)}/${recordingId}/${visibility}/${r}`, `index/rooms/${r}/${inverted(startedAt)}/${recordingId}/${visibility}`];
}

export async function addToIndex(s3: S3Client, bucket: string, room: string, recordingId: string, visibility: 'public' | 'private', startedAt: Date): Promise<void> {
  for (const Key of indexKeys(room, recordingId, visibility, startedAt)) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: '' }));
  }
}

export async function removeFromIndex(s3: S3Client, bucket: string, room: string, recordingId: string, visibility: 'public' | 'private', startedAt: Date): Promise<void> {
  await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: indexKeys(room, recordingId, visibility, startedAt).map((Key) => ({ Key })) } }));
}

/**
 * One page, newest first. `room` limits it to one room; `includePrivate` says whether private
 * recordings may be listed (the caller may listen to them). Filtering happens while listing, so a
 * page may need several LIST calls; `cursor` is the last key seen.
 */
export async function listIndex(
  s3: S3Client,
  bucket: string,
  o: { room?: string; includePrivate: boolean; limit: number; cursor?: string },
): Promise<{ entries: IndexEntry[]; cursor: string | null }> {
  const prefix = o.room ? `index/rooms/${safeKey(o.room)}/` : 'index/all/';
  const entries: IndexEntry[] = [];
  let startAfter = o.cursor && o.cursor.startsWith(prefix) ? o.cursor : undefined;
  for (;;) {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, StartAfter: startAfter, MaxKeys: Math.max(o.limit * 2, 50) }));
    for (const obj of r.Contents ?? []) {
      const parts = obj.Key!.slice(prefix.length).split('/');
      const [inv, recordingId, visibility, roomKey] = o.room ? [...parts, safeKey(o.room)] : parts;
      startAfter = obj.Key!;
      if (visibility !== 'public' && visibility !== 'private') continue;
      if (visibility === 'private' && !o.includePrivate) continue;
      entries.push({ recordingId, roomKey, visibility, startedAt: new Date(MAX_MS - Number(inv)) });
      if (entries.length === o.limit) return { entries, cursor: startAfter };
    }
    if (!r.IsTruncated) return { entries, cursor: null };
  }
}
