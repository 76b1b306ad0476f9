import { randomBytes } from 'node:crypto';
import { rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { hostname } from 'node:os';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config';
import { recordingPrefix, rel, safeKey } from '../contracts/layout';
import type { Manifest } from '../contracts/manifest';
import { GAP_REASONS, transition, stopReasonOf } from '../contracts/lifecycle';
import { addToIndex } from '../storage/recording-index';
import { RecordingStore } from '../storage/recording-store';
import type { RecordJob } from '../contracts/jobs';
import type { ActiveRecording, Control } from '../shared/control';
import type { Logger } from '../shared/log';
import { metrics } from '../shared/metrics';
import { EgressParticipant, TrackAudio } from './livekit/egress-participant';
import { RoomSession } from './livekit/room-session';
import { roomService } from '../shared/livekit';
import { addChunk, FlacChunkWriter } from './outputs/flac-chunks';
import { LiveHlsOutput } from './outputs/live-hls';
import { EdgePublisher } from './outputs/edge-publisher';
import type { MixOutput, RecordingOutput } from './outputs/output';
import { edgeStreamKey } from '../contracts/live-edge';
import { ManifestStore, newManifest } from './spool/manifest-store';
import { Mixer } from './pipeline/mixer';
import { OldAudio, ResumePoint } from './failover/resume';
import { SpeakerOutputs } from './outputs/speaker-output';
import { recordingSpoolDir } from './failover/resume-job';
import { liveOwners, ownerDirName } from './spool/spool-recovery';
import { SpeakingTracker } from './pipeline/speaking';
import { SAMPLE_RATE } from '../contracts/audio';
import { FramePlacer, RecordingClock } from './pipeline/timeline';
import { Uploader } from './spool/uploader';
import { watchJitter } from './pipeline/jitter-compensation';

const TICK_MS = 100;
/** How often a recorder checks it still owns its room (a resumed copy elsewhere takes it over). */
const OWNER_CHECK_MS = 1000;
const LOST = '\u0000lost';

/** This process no longer records the room: another ingest resumed it (this one had stalled). */
export class RoomLostError extends Error {}
const STOP_POLL_MS = 250;
const BEAT_MS = 250;
const toMs = (samples: number) => Math.round((samples / SAMPLE_RATE) * 1000);

export interface RecordingResult {
  manifestKey: string;
  durationMs: number;
  stopReason: string;
  /** Left open for another ingest to resume (SIGTERM), rather than ended. */
  handedOver?: boolean;
}

/**
 * One recording from join to hand-over: room → timeline → mixer → encoders → spool → uploader → S3.
 * run() resolves after the last file and the manifest (status "finalizing") are in S3.
 */
export class Recording {
  readonly prefix: string;
  readonly recordingDir: string;
  private readonly spoolDir: string;
  private readonly log: Logger;
  private readonly uploader: Uploader;
  private readonly objects: RecordingStore;
  private readonly clock: RecordingClock;
  /** Who records the room now: a resumed copy elsewhere replaces it, and this one then stops. */
  readonly owner = randomBytes(6).toString('hex');
  private readonly oldMix: OldAudio | undefined;
  private readonly store: ManifestStore;
  private readonly mixer: Mixer;
  private readonly hls: LiveHlsOutput;
  /** Every output, fed by the mixer and closed (or killed) together. */
  private readonly outputs: RecordingOutput[];
  private readonly egress: EgressParticipant;
  private readonly session: RoomSession;
  private readonly readers = new Set<Promise<void>>();
  private readonly placers = new Set<FramePlacer>();
  private abortReason: string | undefined;
  private handingOver = false;
  private readonly speaking = new SpeakingTracker();

  constructor(
    private readonly cfg: Config,
    private readonly job: RecordJob,
    s3: S3Client,
    private readonly control: Control,
    log: Logger,
    private readonly visibility: 'public' | 'private',
    private readonly resume?: ResumePoint,
  ) {
    this.prefix = recordingPrefix(job.room, job.recordingId);
    this.recordingDir = recordingSpoolDir(cfg, job.room, job.recordingId);
    this.spoolDir = path.join(this.recordingDir, ownerDirName(this.owner));
    this.clock = new RecordingClock(resume ? Date.parse(resume.manifest.startedAt) : undefined);
    const oldOf = (name: string) => {
      const o = resume?.old.get(name);
      return o ? new OldAudio(o.chunkIndex * cfg.SPEAKER_CHUNK_SECONDS * SAMPLE_RATE, o.pcm) : undefined;
    };
    this.oldMix = oldOf('mix');
    const position = resume?.position ?? 0;
    this.log = log.child({ room: job.room, recordingId: job.recordingId });
    // The ingest's writes need no tombstone check: a recording cannot be deleted while it records.
    this.objects = RecordingStore.of(s3, cfg.S3_BUCKET, job.room, job.recordingId, false);
    this.objects.visibility = visibility;
    this.uploader = new Uploader(this.objects, this.log);
    const startedAt = new Date(this.clock.startedAtMs).toISOString();
    const manifest: Manifest = resume
      ? transition({ ...resume.manifest, updatedAt: new Date().toISOString() }, 'recording')
      : newManifest(cfg, job, startedAt, visibility);
    this.store = new ManifestStore(manifest, this.uploader);
    this.hls = new LiveHlsOutput({
      spoolDir: this.spoolDir,
      segmentSeconds: cfg.HLS_SEGMENT_SECONDS,
      partFrames: cfg.HLS_PART_FRAMES,
      edge: new EdgePublisher(control.connection, edgeStreamKey(cfg.QUEUE_PREFIX, job.recordingId), this.log),
      liveWindow: cfg.HLS_LIVE_WINDOW,
      bitrateKbps: cfg.HLS_BITRATE_KBPS,
      startedAtMs: this.clock.startedAtMs,
      uploader: this.uploader,
      log: this.log,
      resume: resume ? { segments: resume.segments, position } : undefined,
      onSegmentUploaded: (count, bytes) =>
        this.store.update((m) => {
          m.hls.segments = count;
          m.hls.bytes += bytes;
          m.durationMs = Math.round((this.mixer.position / SAMPLE_RATE) * 1000);
        }),
    });
    const speakers = new SpeakerOutputs({
      spoolDir: this.spoolDir,
      chunkSeconds: cfg.SPEAKER_CHUNK_SECONDS,
      uploader: this.uploader,
      manifest: this.store,
      log: this.log,
      encoder: cfg.FLAC_ENCODER,
      old: new Map(resume?.manifest.speakers.map((sp) => [sp.identity, oldOf(sp.identity)]).filter((e): e is [string, OldAudio] => !!e[1])),
    });
    const mixChunks = new FlacChunkWriter({
      name: 'mix',
      spoolDir: this.spoolDir,
      relKey: rel.mixChunk,
      chunkSeconds: cfg.SPEAKER_CHUNK_SECONDS,
      startPosition: position,
      lead: this.oldMix?.leadUpTo(position),
      uploader: this.uploader,
      log: this.log,
      encoder: cfg.FLAC_ENCODER,
      onUploaded: (c) => this.store.update((m) => addChunk(m.mix.chunks, c)),
    });
    const mixOutputs: MixOutput[] = [this.hls, mixChunks];
    this.outputs = [...mixOutputs, speakers];
    this.mixer = new Mixer(
      this.clock,
      SAMPLE_RATE / 10,
      Math.round((cfg.MIX_LATENCY_MS * SAMPLE_RATE) / 1000),
      {
        mix: (pcm, pos) => {
          if (this.oldMix) pcm = this.oldMix.overlay(pos, pcm);
          for (const out of mixOutputs) out.write(pcm);
        },
        speaker: (lane, pcm, pos, peak) => {
          speakers.write(lane, pcm, pos, peak);
          this.speaking.note(lane.identity, lane.name, pos, pcm.length, peak);
        },
      },
      position,
    );
    this.session = new RoomSession({
      room: job.room,
      roomSid: job.roomSid,
      recordingId: job.recordingId,
      startedAtMs: this.clock.startedAtMs,
      rooms: roomService(cfg),
      bucket: this.objects.bucket,
      log: this.log,
      toTimelineMs: (wallMs) => Math.max(0, wallMs - this.clock.startedAtMs),
      update: (change) => this.store.update(change),
      onContactChange: () => this.placers.forEach((p) => p.expectDiscontinuity()),
    });
    this.egress = new EgressParticipant(cfg, job.room, `roomcast-recorder-${job.recordingId}`, this.log, (t) => this.addTrack(t), job.roomSid, this.session.hooks);
  }

  /** Stops the recording from outside (SIGTERM drain, lost job lock). */
  abort(reason: string): void {
    this.abortReason ??= reason;
  }

  /**
   * SIGTERM: everything so far is flushed and uploaded, but the recording stays open for another
   * ingest to resume (run() then resolves with handedOver).
   */
  handOver(reason: string): void {
    this.handingOver = true;
    this.abort(reason);
  }

  get ffmpegPids(): number[] {
    return this.outputs.flatMap((o) => o.pids);
  }

  async run(): Promise<RecordingResult> {
    metrics.recordingsActive.inc();
    liveOwners.add(this.owner);
    // The pulse lasts as long as this recorder, flushing and uploading included: a job handed back
    // meanwhile (lapsed lock) must follow it, not resume it and take its spool.
    const beat = () => void this.control.beat(this.job.recordingId, this.owner).catch(() => undefined);
    beat();
    const beating = setInterval(beat, BEAT_MS);
    const active: ActiveRecording = { room: this.job.room, roomSid: this.job.roomSid, recordingId: this.job.recordingId, startedAt: this.store.manifest.startedAt, visibility: this.visibility, owner: this.owner };
    try {
      this.store.saveNow();
      // Listed from the start (the listing shows live recordings too); retried like every upload.
      this.uploader.enqueue({ key: 'index', put: () => addToIndex(this.objects.bucket, this.job.room, this.job.recordingId, this.visibility, new Date(this.clock.startedAtMs)) });
      const joinStartMs = Date.now();
      await this.egress.join();
      const joinMs = Date.now() - joinStartMs;
      active.joinedAt = new Date().toISOString();
      await this.control.setActive(this.job.room, active);
      if (this.resume) {
        // Silence from where the lost process's audio ends to now, at its place on the timeline.
        const fromMs = Math.round((this.resume.position / SAMPLE_RATE) * 1000);
        const toMs = Math.round((this.clock.now() / SAMPLE_RATE) * 1000);
        this.store.update((m) => m.gaps.push({ fromMs, toMs, reason: GAP_REASONS.ingestLost }));
        metrics.resumes.inc();
        this.log.warn({ fromMs, toMs, gapMs: toMs - fromMs, pickedUpAt: this.resume.pickedUpAt, prepareMs: this.resume.prepareMs, ...this.resume.steps, joinMs }, 'recording resumed');
      } else this.log.info({ host: hostname(), prefix: this.prefix }, 'recording started');
      const ticker = setInterval(() => this.mixer.tick(), TICK_MS);
      const stopReason = await this.waitForStop(active);
      clearInterval(ticker);
      if (stopReason === LOST) throw new RoomLostError(`another ingest now records ${this.job.recordingId}`);
      return await this.finish(stopReason);
    } catch (err) {
      for (const o of this.outputs) o.kill();
      this.uploader.stop();
      throw err;
    } finally {
      clearInterval(beating);
      liveOwners.delete(this.owner);
      metrics.recordingsActive.dec();
      await this.control.clearActive(this.job.room, this.job.recordingId, this.owner).catch(() => undefined);
      await this.control.endBeat(this.job.recordingId, this.owner).catch(() => undefined);
    }
  }

  private addTrack(t: TrackAudio): void {
    const lane = this.mixer.lane(t.identity, t.name, safeKey(t.identity));
    const joinedMs = Math.round((this.clock.now() / SAMPLE_RATE) * 1000);
    this.store.update((m) => {
      if (m.speakers.some((s) => s.identity === t.identity)) return;
      m.speakers.push({ identity: t.identity, name: t.name, key: lane.key, joinedMs, firstAudioMs: null, lastAudioMs: null, chunks: [] });
    });
    const placer = new FramePlacer(lane, this.clock, (shift) => metrics.delayShift.observe(toMs(shift)));
    this.placers.add(placer);
    let statsErrors = 0;
    const stopWatching = watchJitter(
      t.stats,
      Math.round((this.cfg.MIX_LATENCY_MS * SAMPLE_RATE) / 2000),
      (shift) => placer.setDelayShift(shift),
      (err) => this.log[statsErrors++ ? 'debug' : 'warn']({ err, identity: t.identity }, 'track stats unavailable'),
    );
    const reader = t
      .read((pcm) => placer.push(pcm))
      .catch((err) => this.log.warn({ err, identity: t.identity }, 'audio track reader failed'))
      .finally(() => {
        stopWatching();
        this.placers.delete(placer);
        metrics.lateSamples.inc(placer.lateSamples);
        this.log.info({ identity: t.identity, track: t.trackSid, corrections: placer.corrections.map(toMs), delayShifts: placer.shiftCount, lastDelayShiftsMs: placer.recentShifts.map(toMs), lateSamples: placer.lateSamples }, 'audio track ended');
        this.readers.delete(reader);
      });
    this.readers.add(reader);
  }

  private async waitForStop(active: ActiveRecording): Promise<string> {
    let disconnected: string | undefined;
    void this.egress.closed.then((r) => (disconnected = `disconnected: ${r}`));
    let lastRefresh = Date.now();
    let lastOwnerCheck = Date.now();
    for (;;) {
      if (this.abortReason) return this.abortReason;
      if (disconnected) return this.session.afterDisconnect(disconnected);
      const over = this.session.poll(this.egress.participants);
      if (over) return over;
      const reason = await this.control.stopReason(this.job.recordingId, this.job.roomSid).catch(() => null);
      if (reason) return reason;
      if (Date.now() - lastOwnerCheck > OWNER_CHECK_MS) {
        lastOwnerCheck = Date.now();
        const now = await this.control.getActive(this.job.room).catch(() => null);
        if (now && now.recordingId === this.job.recordingId && now.owner && now.owner !== this.owner) return LOST;
      }
      void this.control.setSpeaking(this.job.room, this.speaking.snapshot(this.job.recordingId, Math.round((this.mixer.position / SAMPLE_RATE) * 1000))).catch(() => undefined);
      if (Date.now() - lastRefresh > 10_000) {
        lastRefresh = Date.now();
        await this.control.setActive(this.job.room, active).catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, STOP_POLL_MS));
    }
  }

  private async finish(stopReason: string): Promise<RecordingResult> {
    const end = this.clock.now();
    this.log.info({ stopReason }, 'recording stopping');
    await this.egress.leave();
    await Promise.allSettled([...this.readers]);
    this.mixer.flush(end);
    await Promise.all(this.outputs.map((o) => o.close()));
    await this.uploader.drain();
    const handedOver = this.handingOver;
    this.hls.publish(!handedOver);
    const durationMs = Math.round((end / SAMPLE_RATE) * 1000);
    this.store.update((m) => {
      m.durationMs = durationMs;
      if (handedOver) return;
      transition(m, 'finalizing', { stopReason: stopReasonOf(stopReason) });
      m.endedAt = new Date(this.clock.startedAtMs + durationMs).toISOString();
      m.hls.ended = true;
    });
    if (!handedOver) this.session.close(this.store.manifest, durationMs);
    this.store.saveNow();
    await this.uploader.drain();
    await rm(this.spoolDir, { recursive: true, force: true });
    await rmdir(this.recordingDir).catch(() => undefined); // only if no other owner's folder is left
    this.log.info({ durationMs, segments: this.hls.playlists.count, handedOver }, handedOver ? 'recording handed over to another ingest' : 'recording ended; handed to the workers');
    return { manifestKey: this.prefix + rel.manifest, durationMs, stopReason, handedOver };
  }
}
