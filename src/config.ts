import { z } from 'zod';

/**
 * Every setting roomcast reads, validated once at start-up. A missing or malformed value
 * stops the process with a message naming it (see loadConfig).
 */
const bool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

export const ConfigSchema = z.object({
  LIVEKIT_URL: z.string().regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL'),
  LIVEKIT_API_KEY: z.string().min(1),
  LIVEKIT_API_SECRET: z.string().min(32, 'must be at least 32 characters'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL'),
  S3_ENDPOINT: z.string().url(),
  S3_REGION: z.string().min(1),
  S3_BUCKET: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid bucket name'),
  S3_ACCESS_KEY_ID: z.string().min(1),
  S3_SECRET_ACCESS_KEY: z.string().min(1),
  S3_FORCE_PATH_STYLE: bool.default(true),
  PUBLIC_BASE_URL: z.string().url(),
  API_HOST: z.string().default('127.0.0.1'),
  API_PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  /** Local disk where ingest keeps every file until S3 has it. */
  SPOOL_DIR: z.string().min(1).default('./.data/spool'),
  /** Below this much free space on the spool disk ingest logs errors (and below a quarter of it, loudly). */
  SPOOL_MIN_FREE_MB: z.coerce.number().int().min(1).default(1024),
  SPOOL_MAX_MB: z.coerce.number().int().min(1).default(2048),
  /** Prefix of BullMQ's Redis keys: lets two deployments (or the tests and a demo) share one Redis. */
  QUEUE_PREFIX: z.string().regex(/^[a-zA-Z0-9_-]+$/).default('roomcast'),
  /** Max rooms one ingest process records at once (BullMQ worker concurrency). */
  INGEST_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(20),
  HLS_SEGMENT_SECONDS: z.coerce.number().min(1).max(6).default(2),
  /** AAC frames (1024 samples, 21.3 ms) per LL-HLS part: 10 makes 213 ms parts, 9 to a 1.92 s segment. */
  HLS_PART_FRAMES: z.coerce.number().int().min(4).max(16).default(10),
  HLS_LIVE_WINDOW: z.coerce.number().int().min(3).max(30).default(6),
  HLS_BITRATE_KBPS: z.coerce.number().int().min(16).max(256).default(64),
  SPEAKER_CHUNK_SECONDS: z.coerce.number().int().min(2).max(60).default(10),
  /** How long the mixer waits for late audio before a slice of the timeline is final. */
  MIX_LATENCY_MS: z.coerce.number().int().min(40).max(2000).default(250),
  /**
   * Who encodes the lossless chunks: `libflac` (libFLAC as WebAssembly in the ingest process: PSS per
   * room 126 → 36 MB at 4 rooms, bench/ingest.ts) or `ffmpeg` (a process per stream, as before
   * 2026-11-30). Both give the same chunks and samples (test/unit/flac-chunk-writer.test.ts). The
   * recording test's late bursts after a rejoin, first blamed on libflac, came from the test machine
   * starving the recorder (ARCHITECTURE, Timing model).
   */
  FLAC_ENCODER: z.enum(['ffmpeg', 'libflac']).default('libflac'),
  /**
   * Size of the audio frames rtc-node hands the ingest. 100 cuts the ingest's CPU by ~18 % at one
   * room (a tenth of the FFI events) and placed the long room's clicks closer, but in the
   * recording test a rejoining speaker then sometimes shifted the others' audio by 35–93 ms; 20
   * took the JS thread 24 % lower at 4 rooms but failed 1 of 3 recording-test runs with the test
   * machine's priorities level (README, Benchmarks): 10 stays the default.
   */
  INGEST_FRAME_MS: z.coerce.number().int().refine((v) => v === 10 || v === 20 || v === 50 || v === 100, 'one of 10, 20, 50, 100').default(10),
  /** Speech-to-text engine of the transcribe worker. */
  TRANSCRIBE_ENGINE: z.enum(['sphinx', 'whisper', 'openai']).default('sphinx'),
  /** whisper: path to a whisper.cpp ggml model file. */
  WHISPER_MODEL: z.string().optional(),
  /** openai: base URL of an OpenAI-compatible service, its key and model. */
  OPENAI_BASE_URL: z.string().url().optional(),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_MODEL: z.string().default('whisper-1'),
  /** Upper bound for one engine call, whatever the audio length. */
  TRANSCRIBE_TIMEOUT_MS: z.coerce.number().int().min(1000).default(120_000),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(1),
  /** Niceness of the workers' FFmpeg and engine processes: on a shared machine, live ingest comes first. */
  WORKERS_NICE: z.coerce.number().int().min(0).max(19).default(10),
  MAX_WEBHOOK_BYTES: z.coerce.number().int().min(1024).default(256 * 1024),
  /** Key of the signed, expiring links hosts hand out for private rooms (HMAC-SHA256). */
  LINK_SIGNING_SECRET: z.string().min(32, 'must be at least 32 characters'),
  /** Lifetime of presigned S3 download URLs. */
  PRESIGN_TTL_SECONDS: z.coerce.number().int().min(1).max(7 * 24 * 3600).default(300),
  /** Requests per minute one anonymous client (IP) may make to the listing and download endpoints. */
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  /** Requests per minute one verified caller (token subject, signed link) may make to the api (HLS: the HLS budget). */
  RATE_LIMIT_PER_TOKEN_PER_MINUTE: z.coerce.number().int().min(1).default(3000),
  /** Requests per minute one client may make for HLS playlists and segments (a player makes ~60). */
  HLS_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(3000),
  /** Keep the live edge (playlists ~0.5 s, recent segments) in api memory instead of asking S3 each time. */
  API_EDGE_CACHE: bool.default(true),
  /** Express "trust proxy": which proxies' X-Forwarded-For to believe (a CDN in front of the api). */
  API_TRUST_PROXY: z.string().default('loopback'),
  /**
   * /metrics: served on its own listener when METRICS_PORT is set (METRICS_HOST, loopback by
   * default: keep it off the public network), and on the api port only with
   * `Authorization: Bearer $METRICS_TOKEN`. With neither, /metrics is not served.
   */
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  METRICS_HOST: z.string().default('127.0.0.1'),
  METRICS_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
});

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = i.path.join('.');
      return `  ${name}: ${env[name] === undefined ? 'is missing' : i.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
