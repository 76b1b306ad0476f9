import { mixFormats, rel, transcriptFormats } from '../contracts/recording-files';
import type { RecordingContext } from './recording-context';

/** GET /v1/rooms/{room}/recordings/{id}: the recording, and a URL for everything in it the caller may have. */
export function recordingView(r: RecordingContext) {
  const m = r.manifest;
  const host = r.access.role === 'host';
  const has = (kind: string) => !!m.files[kind];
  const formats = <T extends string>(exts: readonly T[], kind: (e: T) => string, path: (e: T) => string) =>
    Object.fromEntries(exts.filter((e) => has(kind(e))).map((e) => [e, r.url(path(e))]));
  return {
    room: m.room,
    recordingId: m.recordingId,
    status: m.status,
    visibility: m.visibility,
    startedAt: m.startedAt,
    endedAt: m.endedAt,
    durationMs: m.durationMs,
    stopReason: m.stopReason,
    error: m.error,
    // One conversation split by a LiveKit restart: the other part (same room, its own session).
    continues: m.continues ? r.otherRecordingUrl(m.continues) : null,
    continuedBy: m.continuedBy ? r.otherRecordingUrl(m.continuedBy) : null,
    speakers: m.speakers.map((sp) => ({ identity: sp.identity, name: sp.name, key: sp.key, joinedMs: sp.joinedMs })),
    gaps: m.gaps,
    processing: m.processing,
    urls: {
      manifest: r.url(rel.manifest),
      livePlaylist: m.status === 'recording' ? r.url(rel.livePlaylist) : null,
      playlist: r.url(rel.eventPlaylist),
      livePlayer: m.status === 'recording' ? livePlayerUrl(r) : null,
      replay: has('replay') ? r.url(rel.replayPage) : null,
      waveform: has('waveform') ? r.url(rel.waveform) : null,
      timeline: has('speakerTimeline') ? r.url(rel.speakerTimeline) : null,
      mix: formats(mixFormats, (e) => `mix.${e}`, (e) => `download/mix.${e}`),
      transcript: formats(transcriptFormats, (e) => `transcript.${e}`, (e) => `download/transcript.${e}`),
      // Raw per-speaker audio is for hosts only, always.
      speakers: host ? Object.fromEntries(m.speakers.filter((sp) => has(`speaker.${sp.key}`)).map((sp) => [sp.key, r.url(`download/speakers/${sp.key}.opus`)])) : null,
      zip: host && m.speakers.some((sp) => has(`speaker.${sp.key}`)) ? r.url('download/all.zip') : null,
    },
  };
}

function livePlayerUrl(r: RecordingContext): string {
  const base = r.url('').replace(/\/recordings\/[^/?]+.*$/, '/live');
  return r.manifest.visibility === 'private' && r.access.query ? `${base}?${r.access.query}` : base;
}
