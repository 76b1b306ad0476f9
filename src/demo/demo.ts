import { roomService } from '../shared/livekit';
import IORedis from 'ioredis';
import { AccessToken } from 'livekit-server-sdk';
import { TOKEN_RECORDING_ATTRIBUTE } from '../api/access';
import { existsSync } from 'node:fs';
import { loadConfig } from '../config';
import { recordingPrefix, rel } from '../contracts/layout';
import { startRoles } from '../cli/roles';
import { Control } from '../shared/control';
import { log } from '../shared/log';
import { RecordingStore } from '../storage/recording-store';
import { makeS3Client } from '../storage/s3';
import { stackUp } from '../stack/stack';
import { stackAppEnv, stackSettings } from '../stack/settings';
import { Cue, loadAudio, Program, speak } from './program';
import { SpeakerBot } from './speaker-bot';

const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';
const clip = (id: string) => `${LIBRIVOX}/sense_and_sensibility_01_austen_64kb-${id}.wav`;
const say = (file: string, fallback: string) => (existsSync(file) ? loadAudio(file) : speak(fallback));

/**
 * The demo: a room with three speaker bots taking turns and overlapping, one muted by the host for
 * a while, one leaving and rejoining; recorded, streamed live, and listed at the end.
 */
export async function runDemo(opts: { seconds?: number } = {}): Promise<void> {
  const out = (s: string) => process.stdout.write(s + '\n');
  const settings = stackSettings();
  await stackUp(settings);
  const env = stackAppEnv(settings);
  const cfg = loadConfig({ ...process.env, ...env });
  if (!process.env.LOG_LEVEL) log.level = 'warn';
  const running = await startRoles(cfg, ['api', 'ingest', 'workers'], { handleSignals: false });
  const roomName = `demo-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}`;
  const rooms = roomService(cfg);
  const redis = new IORedis(cfg.REDIS_URL);
  const control = new Control(redis, cfg.QUEUE_PREFIX);
  const s3 = makeS3Client(cfg);
  try {
    await rooms.createRoom({ name: roomName, emptyTimeout: 60 });
    out(`room "${roomName}" created; waiting for the recorder...`);
    const active = await waitUntil(() => control.getActive(roomName), 15_000);
    const base = `${cfg.PUBLIC_BASE_URL}/v1/rooms/${encodeURIComponent(roomName)}/recordings/${active.recordingId}`;
    out(`recording ${active.recordingId}`);
    out(`live player: ${cfg.PUBLIC_BASE_URL}/v1/rooms/${encodeURIComponent(roomName)}/live   (open it now: it plays the room ~4 s behind)`);
    out(`live HLS:    ${base}/hls/live.m3u8   (full event playlist: ${base}/hls/index.m3u8)`);

    const epoch = Date.now() + 1500;
    const cues: Record<string, Cue[]> = {
      alice: [
        { atMs: 500, pcm: say(clip('0870'), 'and mister john dashwood had then leisure to consider') },
        { atMs: 14_500, pcm: speak('Yes, I quite agree with that.') },
        { atMs: 20_000, pcm: speak('Nobody hears this sentence, the host has muted me.') },
        { atMs: 34_000, pcm: speak('Thank you everyone, that is all for today.') },
      ],
      bob: [
        { atMs: 8_200, pcm: say(clip('0880'), 'he was not an ill disposed young man') },
        { atMs: 26_000, pcm: say(clip('0920'), 'had he married a more amiable woman') },
      ],
      carol: [
        { atMs: 12_000, pcm: say(clip('0890'), 'unless to be rather cold hearted and rather selfish') },
        { atMs: 30_500, pcm: say(clip('0930'), 'he might even have been made amiable himself') },
      ],
    };
    const bot = (identity: string, name: string) =>
      new SpeakerBot(
        { url: cfg.LIVEKIT_URL, apiKey: cfg.LIVEKIT_API_KEY, apiSecret: cfg.LIVEKIT_API_SECRET, room: roomName, identity, name },
        new Program(cues[identity]),
        epoch,
      );
    const alice = bot('alice', 'Alice (host)');
    const bobBot = bot('bob', 'Bob');
    const carol = bot('carol', 'Carol');
    const at = (ms: number) => sleep(Math.max(0, epoch + ms - Date.now()));
    await Promise.all([alice.join(), bobBot.join()]);
    out('alice and bob are speaking; carol joins in 4 s');
    await at(4_000);
    await carol.join();
    await at(19_500);
    out('host mutes alice for 5 s');
    await rooms.mutePublishedTrack(roomName, 'alice', alice.trackSid!, true);
    await at(24_500);
    await rooms.mutePublishedTrack(roomName, 'alice', alice.trackSid!, false);
    await at(25_000);
    out('carol leaves; she rejoins in 4 s');
    await carol.leave();
    await at(29_000);
    await carol.join();
    await at(Math.max(38_000, (opts.seconds ?? 0) * 1000));
    await Promise.all([alice.leave(), bobBot.leave(), carol.leave()]);
    out('room ends');
    await rooms.deleteRoom(roomName);
    const prefix = recordingPrefix(roomName, active.recordingId);
    const roomEnded = Date.now();
    out('room ended; finalizing, transcribing and publishing...');
    const manifest = await waitUntil(async () => {
      const m = await RecordingStore.of(s3, cfg.S3_BUCKET, roomName, active.recordingId).readManifest().catch(() => null);
      return m && (m.status === 'complete' || m.status === 'failed') ? m : null;
    }, 180_000);
    out(`ready ${((Date.now() - roomEnded) / 1000).toFixed(1)} s after the room ended`);
    out('\nmanifest.json:');
    out(JSON.stringify(manifest, null, 2));
    out(`\nfiles (bucket "${cfg.S3_BUCKET}" at ${cfg.S3_ENDPOINT}, prefix ${prefix}), also served under ${base}/:`);
    out(`  HLS (VOD):  ${base}/${rel.eventPlaylist}  (${manifest.hls.segments} segments)`);
    for (const [kind, key] of Object.entries(manifest.files)) out(`  ${kind.padEnd(22)} ${base}/${key}`);
    for (const s of manifest.speakers) out(`  ${s.name}: ${s.chunks.length} FLAC chunks at s3://${cfg.S3_BUCKET}/${prefix}speakers/${s.key}/`);
    const text = await fetch(`${base}/${rel.transcript('txt')}`).then((r) => (r.ok ? r.text() : null)).catch(() => null);
    out(`\ntranscript (${cfg.TRANSCRIBE_ENGINE}):\n${text ?? '(none: ' + (manifest.processing.transcribe?.error ?? 'not transcribed') + ')'}`);
    out(`replay page: ${base}/${rel.replayPage}`);
    // A host's token (as the app would mint for the room's host) and what it opens.
    const hostToken = new AccessToken(cfg.LIVEKIT_API_KEY, cfg.LIVEKIT_API_SECRET, { identity: 'demo-host', ttl: '1h' });
    hostToken.addGrant({ room: roomName, roomAdmin: true });
    // Minted after the room: it names the recording (a room name is reused by later sessions, see docs/ACCESS.md).
    hostToken.attributes = { [TOKEN_RECORDING_ATTRIBUTE]: active.recordingId };
    const host = await hostToken.toJwt();
    out(`
host token (1 h, roomAdmin for ${roomName}):
  ${host}`);
    out(`recording with every URL:  curl -H 'Authorization: Bearer <token>' ${base}`);
    out('downloads:');
    for (const f of ['mix.opus', 'mix.m4a', 'mix.mp3', 'transcript.vtt', 'transcript.srt', 'transcript.txt', 'transcript.json']) out(`  ${base}/download/${f}`);
    for (const sp of manifest.speakers) out(`  ${base}/download/speakers/${sp.key}.opus?token=${host}   (hosts only)`);
    out(`  ${base}/download/all.zip?token=${host}   (every speaker + transcripts, hosts only)`);
    out(`replay page as host (offers the speakers' files): ${base}/${rel.replayPage}?token=${host}`);
  } finally {
    redis.disconnect();
    s3.destroy();
    await running.stop();
  }
}

async function waitUntil<T>(fn: () => Promise<T | null>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await sleep(200);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
