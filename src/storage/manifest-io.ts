import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Manifest } from '../contracts/manifest';

export async function readManifest(s3: S3Client, bucket: string, key: string): Promise<Manifest | null> {
  try {
    const obj = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Manifest.parse(JSON.parse(await obj.Body!.transformToString()));
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchKey') return null;
    throw err;
  }
}

export async function writeManifest(s3: S3Client, bucket: string, key: string, m: Manifest): Promise<void> {
  m.updatedAt = new Date().toISOString();
  const body = JSON.stringify(Manifest.parse(m), null, 2);
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json', CacheControl: 'no-cache' }));
}
