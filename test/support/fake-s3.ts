import type { S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { recordingPrefix } from '../../src/contracts/layout';
import { Manifest, RecordingStatus } from '../../src/contracts/manifest';
import { Bucket } from '../../src/storage/objects';
import { RecordingStore } from '../../src/storage/recording-store';

export interface StoredObject {
  body: Buffer;
  contentType?: string;
  cacheControl?: string;
  etag?: string;
}

const preconditionFailed = () => Object.assign(new Error('PreconditionFailed'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
const missing = (name: string) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: 404 } });

async function bytes(body: unknown): Promise<Buffer> {
  if (typeof body === 'string') return Buffer.from(body);
  if (Buffer.isBuffer(body) || body instanceof Uint8Array) return Buffer.from(body);
  if (body instanceof Readable) {
    const parts: Buffer[] = [];
    for await (const p of body) parts.push(Buffer.from(p));
    return Buffer.concat(parts);
  }
  throw new Error(`unexpected body ${typeof body}`);
}

/**
 * An in-memory bucket that answers the S3 commands storage/objects.ts sends (Get, Head, Put with If-Match,
 * List, DeleteObjects): unit tests of the workers' storage without a stack.
 */
export class FakeS3 {
  readonly objects = new Map<string, StoredObject>();
  /** Keys in the order they were written (PUT). */
  readonly puts: string[] = [];
  /** Runs after each PUT (a test can delete the recording while a stage writes). */
  afterPut?: (key: string) => void;
  /** Keys S3 refuses to delete (reported in DeleteObjects' Errors, as S3 does). */
  readonly refuseDelete = new Set<string>();
  private version = 0;

  get client(): S3Client {
    return this as unknown as S3Client;
  }

  async send(cmd: { constructor: { name: string }; input: Record<string, unknown> }): Promise<unknown> {
    const key = cmd.input.Key as string;
    switch (cmd.constructor.name) {
      case 'GetObjectCommand': {
        const o = this.objects.get(key);
        if (!o) throw missing('NoSuchKey');
        return { Body: { transformToByteArray: async () => new Uint8Array(o.body) }, ContentType: o.contentType, CacheControl: o.cacheControl, ETag: o.etag };
      }
      case 'HeadObjectCommand':
        if (!this.objects.has(key)) throw missing('NotFound');
        return {};
      case 'PutObjectCommand': {
        const body = await bytes(cmd.input.Body);
        // If-Match as S3 answers it: 412 unless the object is still at that version.
        if (cmd.input.IfMatch !== undefined && this.objects.get(key)?.etag !== cmd.input.IfMatch) throw preconditionFailed();
        this.objects.set(key, { body, contentType: cmd.input.ContentType as string, cacheControl: cmd.input.CacheControl as string, etag: `"${++this.version}"` });
        this.puts.push(key);
        this.afterPut?.(key);
        return {};
      }
      case 'ListObjectsV2Command': {
        const prefix = (cmd.input.Prefix as string) ?? '';
        const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix) && (!cmd.input.StartAfter || k > (cmd.input.StartAfter as string))).sort();
        const page = keys.slice(0, (cmd.input.MaxKeys as number) ?? 1000);
        return { Contents: page.map((Key) => ({ Key })), IsTruncated: page.length < keys.length };
      }
      case 'DeleteObjectsCommand': {
        const Errors = [];
        for (const o of (cmd.input.Delete as { Objects: Array<{ Key: string }> }).Objects) {
          if (this.refuseDelete.has(o.Key)) Errors.push({ Key: o.Key, Code: 'AccessDenied', Message: 'refused' });
          else this.objects.delete(o.Key);
        }
        return { Errors };
      }
      default:
        throw new Error(`FakeS3 does not answer ${cmd.constructor.name}`);
    }
  }

  text(key: string): string | null {
    return this.objects.get(key)?.body.toString('utf8') ?? null;
  }

  put(key: string, body: string | Buffer, contentType = 'application/octet-stream'): void {
    this.objects.set(key, { body: Buffer.from(body), contentType, etag: `"${++this.version}"` });
  }
}

export const ROOM = 'demo room';
export const RECORDING_ID = '20260101T000000Z-RM_test';
export const PREFIX = recordingPrefix(ROOM, RECORDING_ID);
export const TOMBSTONE = new RecordingStore(new Bucket({} as S3Client, 'test'), ROOM, RECORDING_ID).tombstoneKey;

/** A finished recording's manifest with two speakers (no chunks). */
export function testManifest(o: { status?: RecordingStatus; visibility?: 'public' | 'private' } = {}): Manifest {
  return Manifest.parse({
    version: 1,
    room: ROOM,
    roomSid: 'RM_test',
    recordingId: RECORDING_ID,
    status: o.status ?? 'finalizing',
    visibility: o.visibility,
    startedAt: '2026-01-01T00:00:00.000Z',
    endedAt: '2026-01-01T00:01:00.000Z',
    updatedAt: '2026-01-01T00:01:00.000Z',
    durationMs: 60_000,
    sampleRate: 48000,
    hls: { eventPlaylist: 'hls/index.m3u8', livePlaylist: 'hls/live.m3u8', segmentSeconds: 2, codec: 'aac', bitrateKbps: 64, segments: 30, bytes: 1000, ended: true },
    speakerFormat: { codec: 'flac', chunkSeconds: 10 },
    mix: { chunks: [] },
    speakers: [
      { identity: 'ann', name: 'Ann', key: 'ann', joinedMs: 0, firstAudioMs: 100, lastAudioMs: 50_000, chunks: [] },
      { identity: 'ben', name: 'Ben', key: 'ben', joinedMs: 0, firstAudioMs: 200, lastAudioMs: 55_000, chunks: [] },
    ],
    gaps: [],
  });
}
