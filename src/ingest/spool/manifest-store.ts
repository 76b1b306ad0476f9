import type { Config } from '../../config';
import type { RecordJob } from '../../contracts/jobs';
import { rel } from '../../contracts/layout';
import { Manifest, MANIFEST_VERSION } from '../../contracts/manifest';
import { SAMPLE_RATE } from '../../contracts/audio';
import type { Uploader } from './uploader';

/**
 * The live copy of a recording's manifest.json. Changes are batched (at most one write a second)
 * and go through the uploader, so a storage outage delays them but never loses the newest state.
 */
export class ManifestStore {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly manifest: Manifest,
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
    this.uploader.enqueue({ key: rel.manifest, body, live: this.manifest.status === 'recording' });
  }
}

/** The manifest of a recording that starts now. */
export function newManifest(
  cfg: Pick<Config, 'HLS_SEGMENT_SECONDS' | 'HLS_BITRATE_KBPS' | 'SPEAKER_CHUNK_SECONDS'>,
  job: RecordJob,
  startedAt: string,
  visibility: 'public' | 'private',
): Manifest {
  return {
    version: MANIFEST_VERSION,
    room: job.room,
    roomSid: job.roomSid,
    recordingId: job.recordingId,
    status: 'recording',
    visibility,
    startedAt,
    endedAt: null,
    updatedAt: startedAt,
    durationMs: 0,
    sampleRate: SAMPLE_RATE,
    hls: {
      eventPlaylist: rel.eventPlaylist,
      livePlaylist: rel.livePlaylist,
      segmentSeconds: cfg.HLS_SEGMENT_SECONDS,
      codec: 'mp4a.40.2',
      bitrateKbps: cfg.HLS_BITRATE_KBPS,
      segments: 0,
      bytes: 0,
      ended: false,
    },
    speakerFormat: { codec: 'flac', chunkSeconds: cfg.SPEAKER_CHUNK_SECONDS },
    mix: { chunks: [] },
    speakers: [],
    gaps: [],
    files: {},
    processing: {},
    error: null,
    stopReason: null,
    continues: null,
    continuedBy: null,
  };
}
