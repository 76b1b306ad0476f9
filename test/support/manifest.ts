import type { S3Client } from '@aws-sdk/client-s3';
import { rel } from '../../src/contracts/layout';
import { Manifest } from '../../src/contracts/manifest';
import { getText } from './s3';
import { sleep } from './scenario';

/** Polls a recording's manifest until `until` holds (S3 errors count as "not yet"). */
export async function waitForManifest(
  s3: S3Client,
  bucket: string,
  prefix: string,
  until: (m: Manifest) => boolean,
  timeoutMs = 30_000,
): Promise<Manifest> {
  const end = Date.now() + timeoutMs;
  let last: Manifest | undefined;
  for (;;) {
    const t = await getText(s3, bucket, prefix + rel.manifest).catch(() => null);
    if (t) {
      last = Manifest.parse(JSON.parse(t));
      if (until(last)) return last;
    }
    if (Date.now() > end) throw new Error(`manifest did not reach the expected state in ${timeoutMs} ms: ${last ? `${last.status} ${JSON.stringify(last.processing)}` : 'none'}`);
    await sleep(250);
  }
}
