import { AudioFrame, AudioSource, LocalAudioTrack, Room, TrackPublishOptions, TrackSource } from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import { SAMPLE_RATE } from '../ingest/pipeline/timeline';
import type { Program } from './program';
import { trackStats } from '../ingest/livekit/receive-stats';

const FRAME = SAMPLE_RATE / 100;
/**
 * How far ahead of the wall clock audio is handed to rtc: rtc's source plays its queue out in real
 * time, so a queue this deep rides out a stall of the host (GC, another bot's peer connection being
 * set up in the same process: 300+ ms seen) unharmed. A source that runs dry does not catch up: at a
 * 60 ms lead (and 250) bots in the test process ran dry when a speaker rejoined, and every burst after
 * that reached the room as late as the source had been dry (59–119 ms).
 */
const LEAD_SAMPLES = 50 * FRAME;
/** How often a new track is asked whether it sends yet. */
const SEND_CHECK_MS = 20;

/** Whether a local track's sender has sent any RTP yet. */
async function isSending(track: LocalAudioTrack): Promise<boolean> {
  const stats = await trackStats(track).catch(() => undefined);
  if (!stats) return true; // no FFI internals: nothing to wait for
  return stats.some((s) => s.stats.case === 'outboundRtp' && (s.stats.value.sent?.packetsSent ?? 0n) > 0n);
}

export interface BotOptions {
  url: string;
  apiKey: string;
  apiSecret: string;
  room: string;
  identity: string;
  name: string;
  /** Opus discontinuous transmission (on in LiveKit's clients by default). */
  dtx?: boolean;
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
  /** Set once the current track sends packets: the pump then aligns its queue (see run). */
  private startAligned = false;
  trackSid: string | undefined;
  /** Largest lag of the audio pump behind the wall clock (samples), for diagnosing a busy host. */
  maxBehind = 0;
  /** Stretches of the script (ms) the pump skipped because it stalled past its lead: never sent. */
  skipped: Array<[number, number]> = [];

  constructor(
    readonly o: BotOptions,
    private readonly program: Program,
    private readonly epochMs: number,
  ) {}

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
    this.startAligned = false;
    const source = new AudioSource(SAMPLE_RATE, 1, 1000);
    const track = LocalAudioTrack.createAudioTrack('microphone', source);
    const opts = new TrackPublishOptions();
    opts.source = TrackSource.SOURCE_MICROPHONE;
    opts.dtx = this.o.dtx ?? true;
    const pub = await room.localParticipant!.publishTrack(track, opts);
    this.trackSid = pub.sid;
    this.source = source;
    this.running = true;
    this.pump = this.run(source, track);
  }

  /**
   * Hands the script to rtc ahead of the wall clock. rtc's source plays its queue out in real time
   * from the moment its sender takes audio, which can be hundreds of ms after publishTrack resolves
   * (a second track on a connection waits for renegotiation): audio queued before that would leave
   * late by as much, for good. So until the track sends packets the bot hands silence, then clears
   * the queue and starts over from the sample due now: sample k leaves at epoch + k/48000 s to
   * within a frame, whatever the sender's start-up took (bench/placement.ts shows the difference).
   */
  private async run(source: AudioSource, track: LocalAudioTrack): Promise<void> {
    const nowSample = () => Math.round(((Date.now() - this.epochMs) * SAMPLE_RATE) / 1000);
    // From the sample due now, even before the epoch (silence there): the source plays what it is
    // handed at once, so starting at sample 0 ahead of the epoch would put every sample early.
    let next = nowSample();
    let sending = false;
    let checked = 0;
    let checking: Promise<boolean> | undefined;
    while (this.running) {
      if (!sending && !checking && Date.now() - checked >= SEND_CHECK_MS) {
        checked = Date.now();
        checking = isSending(track).finally(() => (checked = Date.now()));
        void checking.then((yes) => {
          if (yes) this.startAligned = true;
          checking = undefined;
        });
      }
      if (this.startAligned && !sending) {
        sending = true;
        source.clearQueue();
        next = nowSample();
      }
      const due = nowSample() + LEAD_SAMPLES;
      if (next >= due) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      const behind = due - LEAD_SAMPLES - next;
      if (sending && behind > this.maxBehind) this.maxBehind = behind;
      // Stalled for longer than the queue lasts: rtc's source ran dry and played silence, so
      // catching up would leave everything after late for good. Skip what was missed instead,
      // as a real microphone would.
      if (behind > 3 * FRAME) {
        if (sending) this.skipped.push([(next / SAMPLE_RATE) * 1000, ((due - LEAD_SAMPLES) / SAMPLE_RATE) * 1000]);
        next = due - LEAD_SAMPLES;
      }
      const pcm = sending ? this.program.render(next, FRAME) : new Int16Array(FRAME);
      next += FRAME;
      await source.captureFrame(new AudioFrame(pcm, SAMPLE_RATE, 1, FRAME));
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
