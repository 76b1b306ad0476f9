import { AudioFrame, AudioSource, LocalAudioTrack, Room, TrackPublishOptions, TrackSource } from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import { SAMPLE_RATE } from '../ingest/pipeline/timeline';
import type { Program } from './program';

const FRAME = SAMPLE_RATE / 100;
/**
 * How far ahead of the wall clock audio is handed to rtc: rtc's source plays its queue out in real
 * time, so a queue this deep rides out a stall of the host (GC, another bot's peer connection being
 * set up in the same process: 300+ ms seen) unharmed. A source that runs dry does not catch up: at a
 * 60 ms lead (and 250) bots in the test process ran dry when a speaker rejoined, and every burst after
 * that reached the room as late as the source had been dry (59–119 ms).
 */
const LEAD_SAMPLES = 50 * FRAME;

export interface BotOptions {
  url: string;
  apiKey: string;
  apiSecret: string;
  room: string;
  identity: string;
  name: string;
  /** Opus discontinuous transmission (on in LiveKit's clients by default). */
  dtx?: boolean;
  /**
   * Audio handed to rtc per call (ms, default 10 as a microphone does). Each call is an FFI request
   * and an event back; a load generator with many bots hands 100 ms at a time to cost a tenth of
   * that, and rtc's source still plays it out 10 ms at a time.
   */
  frameMs?: number;
}

/**
 * A real LiveKit participant that speaks a Program like a microphone would: a steady 10 ms stream
 * (silence between cues), paced by the wall clock from a shared epoch, so sample k of the script
 * leaves the bot at epoch + k/48000 s, whenever the bot joined.
 */
export class SpeakerBot {
  private room: Room | undefined;
  private source: AudioSource | undefined;
  private pump: Promise<void> | undefined;
  private running = false;
  trackSid: string | undefined;
  /** Largest lag of the audio pump behind the wall clock (samples), for diagnosing a busy host. */
  maxBehind = 0;
  /** Stretches of the script (ms) the pump skipped because it stalled past its lead: never sent. */
  skipped: Array<[number, number]> = [];

  private readonly frameSamples: number;

  constructor(
    readonly o: BotOptions,
    private readonly program: Program,
    private readonly epochMs: number,
  ) {
    this.frameSamples = ((o.frameMs ?? 10) * SAMPLE_RATE) / 1000;
  }

  async join(): Promise<void> {
    const at = new AccessToken(this.o.apiKey, this.o.apiSecret, { identity: this.o.identity, name: this.o.name, ttl: '1h' });
    at.addGrant({ room: this.o.room, roomJoin: true, canPublish: true, canSubscribe: false });
    const room = new Room();
    await room.connect(this.o.url, await at.toJwt(), { autoSubscribe: false, dynacast: false });
    this.room = room;
    await this.publish();
  }

  /** Stops publishing the microphone and publishes a new one (a new track, as an app does when its mic changes). */
  async republish(): Promise<void> {
    this.running = false;
    await this.pump;
    await this.source?.close();
    if (this.trackSid) await this.room!.localParticipant!.unpublishTrack(this.trackSid);
    await this.publish();
  }

  private async publish(): Promise<void> {
    const room = this.room!;
    const source = new AudioSource(SAMPLE_RATE, 1, 1000);
    const track = LocalAudioTrack.createAudioTrack('microphone', source);
    const opts = new TrackPublishOptions();
    opts.source = TrackSource.SOURCE_MICROPHONE;
    opts.dtx = this.o.dtx ?? true;
    const pub = await room.localParticipant!.publishTrack(track, opts);
    this.trackSid = pub.sid;
    this.source = source;
    this.running = true;
    this.pump = this.run(source);
  }

  /**
   * Hands the script to rtc ahead of the wall clock. rtc's source (webrtc-sys audio_track.cpp)
   * drains its queue 10 ms at a time from its creation, sinks or not, so what is handed to it now
   * leaves now plus what is queued: the pump starts at the sample due now and keeps LEAD_SAMPLES
   * queued, so sample k leaves at epoch + k/48000 s (bench/placement.ts measures against that).
   */
  private async run(source: AudioSource): Promise<void> {
    const nowSample = () => Math.round(((Date.now() - this.epochMs) * SAMPLE_RATE) / 1000);
    // From the sample due now, even before the epoch (silence there): starting at sample 0 ahead
    // of the epoch put every sample of a bot that joined early up to the lead early.
    let next = nowSample();
    while (this.running) {
      const due = nowSample() + LEAD_SAMPLES;
      // (Hands a frame once its last 10 ms fit in the lead: with 10 ms frames, as soon as next < due.)
      if (next + this.frameSamples - FRAME >= due) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      const behind = due - LEAD_SAMPLES - next;
      if (behind > this.maxBehind) this.maxBehind = behind;
      // Stalled for longer than the queue lasts: rtc's source ran dry and played silence, so
      // catching up would leave everything after late for good. Skip what was missed instead,
      // as a real microphone would.
      if (behind > 3 * FRAME) {
        this.skipped.push([(next / SAMPLE_RATE) * 1000, ((due - LEAD_SAMPLES) / SAMPLE_RATE) * 1000]);
        next = due - LEAD_SAMPLES;
      }
      const n = this.frameSamples;
      await source.captureFrame(new AudioFrame(this.program.render(next, n), SAMPLE_RATE, 1, n));
      next += n;
    }
  }

  async leave(): Promise<void> {
    this.running = false;
    await this.pump;
    await this.source?.close();
    await this.room?.disconnect();
    this.room = undefined;
  }
}
