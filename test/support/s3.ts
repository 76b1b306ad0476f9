import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { writeFileSync } from 'node:fs';
import { makeS3Client } from '../../src/storage/s3';
import { loadConfig } from '../../src/config';

export function testS3(env: Record<string, string>): { s3: S3Client; bucket: string } {
  const cfg = loadConfig(env);
  return { s3: makeS3Client(cfg), bucket: cfg.S3_BUCKET };
}

export async function getText(s3: S3Client, bucket: string, key: string): Promise<string | null> {
  try {
    const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await r.Body!.transformToString();
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchKey') return null;
    throw err;
  }
}

export async function download(s3: S3Client, bucket: string, key: string, file: string): Promise<{ contentType?: string; bytes: number }> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = await r.Body!.transformToByteArray();
  writeFileSync(file, bytes);
  return { contentType: r.ContentType, bytes: bytes.length };
}

export async function exists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

/** Whether S3 says the object is missing (404), as opposed to unreachable (throws). */
export async function missing(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return false;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return true;
    throw err;
  }
}
