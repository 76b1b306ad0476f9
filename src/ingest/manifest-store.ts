import { Manifest } from '../contracts/manifest';
import type { Uploader } from './uploader';

/**
 * The live copy of a recording's manifest.json. Changes are batched (at most one write a second)
 * and go through the uploader, so a storage outage delays them but never loses the newest state.
 */
export class ManifestStore {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly manifest: Manifest,
    private readonly key: string,
    private readonly uploader: Uploader,
    private readonly debounceMs = 1000,
  ) {}

  update(change: (m: Manifest) => void): void {
    change(this.manifest);
    if (!this.timer) this.timer = setTimeout(() => this.saveNow(), this.debounceMs);
  }

  saveNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.manifest.updatedAt = new Date().toISOString();
    const body = JSON.stringify(Manifest.parse(this.manifest), null, 2);
    this.uploader.enqueue({ key: this.key, body, contentType: 'application/json', cacheControl: 'no-cache' });
  }
}
