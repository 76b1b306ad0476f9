import { safeKey } from '../contracts/layout';
import { PERSONAL_CACHE, type Visibility } from '../contracts/recording-files';
import type { Bucket } from './objects';

/**
 * A listing index in S3 so that "newest first, paginated" is one LIST call however many rooms
 * there are: an empty object per recording whose key sorts newest first (inverted start time) and
 * says where the recording is. S3 lists keys in order, and StartAfter is the page cursor.
 *
 *   index/all/{inverted}/{recordingId}/{public|private}/{safeRoom}
 *   index/rooms/{safeRoom}/{inverted}/{recordingId}/{public|private}
 *
 * The index only says where to look: readers take visibility and room from the manifest (two room
 * names can share a safe key).
 */
export interface IndexEntry {
  recordingId: string;
  /** The room's key in S3 (recordingPrefix uses it). */
  roomKey: string;
  visibility: Visibility;
  startedAt: Date;
}

const MAX_MS = 99_999_999_999_999;
const inverted = (d: Date) => String(MAX_MS - d.getTime()).padStart(14, '0');

export function indexKeys(room: string, recordingId: string, visibility: Visibility, startedAt: Date): string[] {
  const r = safeKey(room);
  return [`index/all/${inverted(startedAt)}/${recordingId}/${visibility}/${r}`, `index/rooms/${r}/${inverted(startedAt)}/${recordingId}/${visibility}`];
}

export async function addToIndex(bucket: Bucket, room: string, recordingId: string, visibility: Visibility, startedAt: Date): Promise<void> {
  for (const key of indexKeys(room, recordingId, visibility, startedAt)) {
    await bucket.put(key, '', { contentType: 'application/octet-stream', cacheControl: PERSONAL_CACHE });
  }
}

export async function removeFromIndex(bucket: Bucket, room: string, recordingId: string, visibility: Visibility, startedAt: Date): Promise<void> {
  await bucket.deleteKeys(indexKeys(room, recordingId, visibility, startedAt));
}

/**
 * One page, newest first. `room` limits it to one room; `includePrivate` says whether private
 * recordings may be listed (the caller may listen to some of them: each is checked again against
 * its manifest). Filtering happens while listing, so a page may need several LIST calls; `cursor`
 * is the last key seen.
 */
export async function listIndex(
  bucket: Bucket,
  o: { room?: string; includePrivate: boolean; limit: number; cursor?: string },
): Promise<{ entries: IndexEntry[]; cursor: string | null }> {
  const prefix = o.room ? `index/rooms/${safeKey(o.room)}/` : 'index/all/';
  const entries: IndexEntry[] = [];
  let startAfter = o.cursor && o.cursor.startsWith(prefix) ? o.cursor : undefined;
  for (;;) {
    const r = await bucket.list(prefix, { startAfter, maxKeys: Math.max(o.limit * 2, 50) });
    for (const key of r.keys) {
      const parts = key.slice(prefix.length).split('/');
      const [inv, recordingId, visibility, roomKey] = o.room ? [...parts, safeKey(o.room)] : parts;
      startAfter = key;
      if (visibility !== 'public' && visibility !== 'private') continue;
      if (visibility === 'private' && !o.includePrivate) continue;
      entries.push({ recordingId, roomKey, visibility, startedAt: new Date(MAX_MS - Number(inv)) });
      if (entries.length === o.limit) return { entries, cursor: startAfter };
    }
    if (!r.truncated) return { entries, cursor: null };
  }
}
