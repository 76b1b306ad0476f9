import type { Config } from '../config';
import { RecordingStatus } from '../contracts/manifest';
import { FILE_KINDS, MIX_FORMATS, mixFormats, TRANSCRIPT_FORMATS, transcriptFormats } from '../contracts/recording-files';

/**
 * The api's OpenAPI 3.1 description, served at /v1/openapi.json. The tests validate the api's
 * JSON responses against these schemas (test/support/openapi.ts), so a change to a response
 * that is not made here fails them.
 */
const str = { type: 'string' };
/** From the table of recording files (contracts/recording-files.ts): a new format shows up here by itself. */
const SERVED = FILE_KINDS.filter((k) => k.audience !== 'internal');
const DOWNLOAD_NAMES = [...mixFormats.map((e) => `mix.${e}`), ...transcriptFormats.map((e) => `transcript.${e}`)];
const DOWNLOAD_TYPES = [...new Set([...Object.values(MIX_FORMATS), ...Object.values(TRANSCRIPT_FORMATS), 'audio/ogg'])];
const nullableStr = { type: ['string', 'null'] };
const int = { type: 'integer', minimum: 0 };
const urlMap = { type: 'object', additionalProperties: { type: 'string' } };

const schemas = {
  Error: {
    type: 'object',
    required: ['error'],
    additionalProperties: false,
    properties: { error: { type: 'object', required: ['code', 'message'], additionalProperties: false, properties: { code: str, message: str } } },
  },
  Recording: {
    type: 'object',
    required: ['room', 'recordingId', 'status', 'visibility', 'startedAt', 'endedAt', 'durationMs', 'stopReason', 'error', 'continues', 'continuedBy', 'speakers', 'gaps', 'processing', 'urls'],
    additionalProperties: false,
    properties: {
      room: str,
      recordingId: str,
      status: { enum: RecordingStatus.options },
      visibility: { enum: ['public', 'private'] },
      startedAt: { type: 'string', format: 'date-time' },
      endedAt: { type: ['string', 'null'], format: 'date-time' },
      durationMs: int,
      stopReason: { ...nullableStr, description: 'Why recording stopped (room finished, stopped by host, …)' },
      error: { ...nullableStr, description: 'Why the recording failed (status failed)' },
      continues: { ...nullableStr, description: 'URL of the recording this one continues (LiveKit restarted under the room: a new session)' },
      continuedBy: { ...nullableStr, description: 'URL of the recording that continues this one' },
      speakers: { type: 'array', items: { type: 'object', required: ['identity', 'name', 'key', 'joinedMs'], properties: { identity: str, name: str, key: str, joinedMs: int } } },
      gaps: { type: 'array', items: { type: 'object' } },
      processing: { type: 'object', additionalProperties: { type: 'object', required: ['status', 'at', 'attempt'], properties: { status: { enum: ['running', 'done', 'failed'] }, at: str, attempt: int, tookMs: { type: 'number' }, error: str } } },
      urls: {
        type: 'object',
        required: ['manifest', 'livePlaylist', 'playlist', 'livePlayer', 'replay', 'waveform', 'timeline', 'mix', 'transcript', 'speakers', 'zip'],
        additionalProperties: false,
        properties: {
          manifest: str, livePlaylist: nullableStr, playlist: str, livePlayer: nullableStr, replay: nullableStr, waveform: nullableStr, timeline: nullableStr,
          mix: urlMap, transcript: urlMap,
          speakers: { description: 'Hosts only (null for others).', oneOf: [urlMap, { type: 'null' }] },
          zip: { ...nullableStr, description: 'Hosts only.' },
        },
      },
    },
  },
  RecordingList: {
    type: 'object',
    required: ['recordings', 'nextCursor'],
    additionalProperties: false,
    properties: {
      recordings: {
        type: 'array',
        items: {
          type: 'object',
          required: ['room', 'recordingId', 'status', 'visibility', 'startedAt', 'durationMs', 'speakers', 'url', 'replay', 'stopReason', 'continues', 'continuedBy'],
          additionalProperties: false,
          properties: { room: str, recordingId: str, status: { enum: RecordingStatus.options }, visibility: { enum: ['public', 'private'] }, startedAt: str, durationMs: int, speakers: { type: 'array', items: str }, url: str, replay: nullableStr, stopReason: nullableStr, continues: { ...nullableStr, description: 'Recording id this one continues' }, continuedBy: { ...nullableStr, description: 'Recording id that continues this one' } },
        },
      },
      nextCursor: { ...nullableStr, description: 'Pass as ?cursor= for the next (older) page; null on the last page.' },
    },
  },
  LiveRooms: {
    type: 'object',
    required: ['rooms'],
    additionalProperties: false,
    properties: { rooms: { type: 'array', items: { type: 'object', required: ['room', 'recordingId', 'startedAt', 'livePlayer', 'livePlaylist'], additionalProperties: false, properties: { room: str, recordingId: str, startedAt: str, livePlayer: str, livePlaylist: str } } } },
  },
  LiveStatus: {
    type: 'object',
    required: ['room', 'live', 'recordingId', 'startedAt', 'visibility', 'playlist', 'speaking', 'replay'],
    additionalProperties: false,
    properties: {
      room: str, live: { type: 'boolean' }, recordingId: str, startedAt: str, visibility: { enum: ['public', 'private'] }, playlist: nullableStr,
      speaking: {
        oneOf: [
          { type: 'null' },
          { type: 'object', required: ['recordingId', 'atMs', 'speakers'], properties: { recordingId: str, atMs: int, speakers: { type: 'array', items: { type: 'object', required: ['identity', 'name', 'intervals'], properties: { identity: str, name: str, intervals: { type: 'array', items: { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 } } } } } } },
        ],
      },
      replay: { oneOf: [{ type: 'null' }, { type: 'object', required: ['ready', 'url'], additionalProperties: false, properties: { ready: { type: 'boolean' }, url: str } }] },
    },
  },
  RecordingLink: { type: 'object', required: ['replayUrl', 'recordingUrl', 'query', 'expiresAt'], additionalProperties: false, properties: { replayUrl: str, recordingUrl: str, query: str, expiresAt: str } },
  RoomLink: { type: 'object', required: ['livePlayerUrl', 'query', 'expiresAt'], additionalProperties: false, properties: { livePlayerUrl: str, query: str, expiresAt: str } },
  RecordingStarted: { type: 'object', required: ['recordingId', 'room'], additionalProperties: false, properties: { recordingId: str, room: str } },
  Health: { type: 'object', required: ['ok', 'checks'], properties: { ok: { type: 'boolean' }, checks: { type: 'array', items: { type: 'object', required: ['name', 'ok', 'ms'], additionalProperties: false, properties: { name: str, ok: { type: 'boolean' }, ms: int, error: { ...str, description: 'Only with Authorization: Bearer <METRICS_TOKEN>' } } } } } },
};

const ref = (name: keyof typeof schemas) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: keyof typeof schemas, description: string) => ({ description, content: { 'application/json': { schema: ref(name) } } });
const err = (description: string) => json('Error', description);
const errors = {
  '400': err('Invalid room name, recording id, file name or query'),
  '401': err('Credentials missing (private room) or not verifying (forged, expired, other secret)'),
  '403': err('Credentials for another room or recording, or without the right grant'),
  '404': err('No such room, recording or file'),
  '429': err('Rate limited (per address for anonymous clients and credentials that do not verify, per token subject for verified ones)'),
};
const p = (name: string, description: string, schema: object = str) => ({ name, in: 'path', required: true, description, schema });
const room = p('room', 'LiveKit room name (no slashes or control characters, ≤128 characters)', { type: 'string', maxLength: 128 });
const recordingId = p('recordingId', 'Recording id, e.g. 20261125T201500Z-RM_abc', { type: 'string', pattern: '^\\d{8}T\\d{6}Z-[A-Za-z0-9_]+$' });
const credentials = [
  { name: 'token', in: 'query', required: false, description: 'LiveKit access token (for players that cannot send headers)', schema: str },
  { name: 'exp', in: 'query', required: false, description: 'Signed link: expiry (unix seconds)', schema: { type: 'integer' } },
  { name: 'nbf', in: 'query', required: false, description: 'Signed link: valid from (unix seconds)', schema: { type: 'integer' } },
  { name: 'sig', in: 'query', required: false, description: 'Signed link: signature', schema: str },
  { name: 'scope', in: 'query', required: false, description: 'Signed link: recording id or *', schema: str },
];
const page = [
  { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } },
  { name: 'cursor', in: 'query', required: false, schema: str },
];
const binary = (types: string[], description: string) => ({ description, content: Object.fromEntries(types.map((t) => [t, { schema: { type: 'string', format: 'binary' } }])) });

export function openApiDocument(cfg: Pick<Config, 'PUBLIC_BASE_URL'>) {
  return {
    openapi: '3.1.0',
    info: { title: 'roomcast', version: '1', description: 'Live HLS, replays, downloads and transcripts of LiveKit audio rooms. Errors are always {"error":{"code","message"}}.' },
    servers: [{ url: cfg.PUBLIC_BASE_URL }],
    components: {
      schemas,
      securitySchemes: { livekitToken: { type: 'http', scheme: 'bearer', bearerFormat: 'LiveKit access token (JWT)' } },
    },
    paths: {
      '/healthz': { get: { summary: 'Redis, S3 and LiveKit reachability (checked at most once a second; error text only with the metrics token)', responses: { '200': json('Health', 'All reachable'), '503': json('Health', 'Something is not') } } },
      '/metrics': { get: { summary: 'Prometheus metrics: on the api port only with Authorization: Bearer <METRICS_TOKEN> (or on METRICS_HOST:METRICS_PORT)', responses: { '200': { description: 'text exposition format', content: { 'text/plain': { schema: str } } }, '401': errors['401'], '404': errors['404'] } } },
      '/v1/rooms': { get: { summary: 'Rooms being recorded now (public ones)', responses: { '200': json('LiveRooms', 'Live rooms, newest first'), '429': errors['429'] } } },
      '/v1/recordings': { get: { summary: 'Public recordings, newest first', parameters: page, responses: { '200': json('RecordingList', 'One page'), '400': errors['400'], '401': errors['401'], '429': errors['429'] } } },
      '/v1/rooms/{room}/recordings': { get: { summary: "A room's recordings, newest first (private ones with credentials)", parameters: [room, ...page, ...credentials], responses: { '200': json('RecordingList', 'One page (a private recording only where the credentials cover it)'), '400': errors['400'], '401': errors['401'], '429': errors['429'] } } },
      '/v1/rooms/{room}/recording': {
        post: { summary: 'Start recording (host)', security: [{ livekitToken: [] }], parameters: [room], responses: { '202': json('RecordingStarted', 'Queued'), '400': errors['400'], '401': errors['401'], '403': errors['403'], '404': errors['404'], '409': err('Already recording'), '413': err('Body too large') } },
        delete: { summary: 'Stop recording (host)', security: [{ livekitToken: [] }], parameters: [room], responses: { '202': json('RecordingStarted', 'Stopping'), '400': errors['400'], '401': errors['401'], '403': errors['403'], '404': errors['404'] } },
      },
      '/v1/rooms/{room}/live': { get: { summary: 'Live player page', parameters: [room, ...credentials], responses: { '200': { description: 'HTML', content: { 'text/html': { schema: str } } }, '400': errors['400'], '401': errors['401'] } } },
      '/v1/rooms/{room}/live/status': { get: { summary: 'Is the room live, who is speaking, is the replay ready', parameters: [room, ...credentials], responses: { '200': json('LiveStatus', 'Status'), ...errors } } },
      '/v1/rooms/{room}/links': { post: { summary: 'Signed, expiring link to the live page and every recording of the room (host)', security: [{ livekitToken: [] }], parameters: [room], requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { ttlSeconds: { type: 'integer', minimum: 60 } } } } } }, responses: { '201': json('RoomLink', 'Link'), ...errors } } },
      '/v1/rooms/{room}/recordings/{recordingId}': {
        get: { summary: 'A recording and URLs for everything in it the caller may have', parameters: [room, recordingId, ...credentials], responses: { '200': json('Recording', 'The recording'), ...errors } },
        delete: { summary: 'Delete a recording and every object of it (host)', security: [{ livekitToken: [] }], parameters: [room, recordingId], responses: { '204': { description: 'Deleted' }, '409': err('Still recording'), ...errors } },
      },
      '/v1/rooms/{room}/recordings/{recordingId}/links': { post: { summary: 'Signed, expiring link to this recording (host)', security: [{ livekitToken: [] }], parameters: [room, recordingId], requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { ttlSeconds: { type: 'integer', minimum: 60 } } } } } }, responses: { '201': json('RecordingLink', 'Link'), ...errors } } },
      '/v1/rooms/{room}/recordings/{recordingId}/download/{file}': {
        get: {
          summary: `Download: ${DOWNLOAD_NAMES.join(', ')}, speakers/{key}.opus (host). ?via=presigned answers 302 to a short-lived S3 URL.`,
          parameters: [room, recordingId, p('file', 'Download name', { type: 'string', anyOf: [{ enum: DOWNLOAD_NAMES }, { pattern: '^speakers/[A-Za-z0-9_~.-]{1,64}\\.opus$' }] }), { name: 'via', in: 'query', required: false, schema: { enum: ['api', 'presigned'] } }, ...credentials],
          responses: { '200': binary(DOWNLOAD_TYPES, 'The file (Range supported)'), '206': { description: 'Part of the file' }, '302': { description: 'Presigned S3 URL in Location' }, ...errors },
        },
      },
      '/v1/rooms/{room}/recordings/{recordingId}/download/all.zip': { get: { summary: 'Every speaker file and transcript as one zip, streamed (host)', security: [{ livekitToken: [] }], parameters: [room, recordingId], responses: { '200': binary(['application/zip'], 'Zip'), ...errors } } },
      '/v1/rooms/{room}/recordings/{recordingId}/{file}': {
        get: {
          summary: 'Recording files for players and pages (hls/live.m3u8, hls/index.m3u8, hls/init.mp4, hls/seg_NNNNNN.m4s, hls/seg_NNNNNN.pK.m4s (LL-HLS parts, live only), manifest.json, final/*, transcript/*, replay/*): who may read each and how long caches keep it come from the table of recording files',
          parameters: [
            room,
            recordingId,
            p('file', 'File path within the recording', { type: 'string', anyOf: SERVED.map((k) => ({ pattern: k.pattern.source })) }),
            // LL-HLS (RFC 8216bis 6.2.5): on a live recording's playlists only.
            { name: '_HLS_msn', in: 'query', required: false, description: 'Blocking reload: answer once this media sequence number (and _HLS_part) exists (held up to 12 s)', schema: { type: 'integer', minimum: 0 } },
            { name: '_HLS_part', in: 'query', required: false, description: 'Blocking reload: the part of _HLS_msn to wait for', schema: { type: 'integer', minimum: 0 } },
            { name: '_HLS_skip', in: 'query', required: false, description: 'Delta update: segments older than CAN-SKIP-UNTIL replaced by EXT-X-SKIP', schema: { enum: ['YES', 'v2'] } },
            ...credentials,
          ],
          responses: { '200': binary([...new Set(SERVED.map((k) => k.contentType))], 'The file'), ...errors },
        },
      },
      '/v1/webhooks/livekit': { post: { summary: "LiveKit's webhooks (signed with the API key/secret)", responses: { '200': { description: 'Accepted' }, '400': errors['400'], '401': errors['401'], '413': err('Body too large') } } },
    },
  };
}
