import type { FfiEvent, FfiRequest, GetStatsCallback, GetStatsResponse, InboundRtpStreamStats, PartialMessage, RtcStats } from '@livekit/rtc-ffi-bindings';
import type { RemoteTrack, Track } from '@livekit/rtc-node';

/**
 * libwebrtc's receive-side figures for one remote audio track (W3C inbound-rtp stats), cumulative
 * since subscription. The jitter buffer holds a track's audio longer or shorter as it adapts; the
 * decoded stream keeps its steady pace through that, so only these figures show it.
 */
export interface ReceiveStats {
  /** Sum over emitted samples of the time each spent in the jitter buffer (seconds). */
  jitterBufferDelay: number;
  jitterBufferEmittedCount: number;
  jitterBufferTargetDelay: number;
  jitterBufferMinimumDelay: number;
  /** Epoch ms at which the last packet arrived (0 when none has). */
  lastPacketReceivedTimestamp: number;
  /** The sender's NTP clock (epoch ms) of the sample playing now, from RTCP sender reports (0 without one). */
  estimatedPlayoutTimestamp: number;
  concealedSamples: number;
  /** Concealed samples that were silence (DTX, muted): no audio was late there. */
  silentConcealedSamples: number;
  insertedSamplesForDeceleration: number;
  removedSamplesForAcceleration: number;
}

/**
 * The FFI client rtc-node keeps on globalThis. rtc-node's only public stats call is the room's,
 * whose inbound-rtp entries name tracks by an id that nothing else exposes; the FFI's per-track
 * request answers for exactly one track.
 */
interface FfiClientLike {
  request<T>(req: PartialMessage<FfiRequest>): T;
  getNextRequestAsyncId(): bigint;
  waitFor<T>(predicate: (ev: FfiEvent) => boolean, options?: { signal?: AbortSignal }): Promise<T>;
}

const TIMEOUT_MS = 2000;

/** One track's WebRTC stats through the FFI (remote or local track); undefined without the FFI's internals. */
export async function trackStats(track: Track): Promise<RtcStats[] | undefined> {
  const client = (globalThis as unknown as { _ffiClientInstance?: FfiClientLike })._ffiClientInstance;
  const handle = (track as unknown as { ffi_handle?: { handle?: bigint } }).ffi_handle?.handle;
  if (!client || handle === undefined) return undefined;
  const requestAsyncId = client.getNextRequestAsyncId();
  const done = client.waitFor<GetStatsCallback>(
    (ev) => ev.message.case === 'getStats' && ev.message.value.asyncId === requestAsyncId,
    { signal: AbortSignal.timeout(TIMEOUT_MS) },
  );
  done.catch(() => undefined); // request() below may throw (track gone) before `done` is awaited
  client.request<GetStatsResponse>({ message: { case: 'getStats', value: { trackHandle: handle, requestAsyncId } } });
  const cb = await done;
  if (cb.error) throw new Error(`track stats: ${cb.error}`);
  return cb.stats;
}

/** Reads one remote track's inbound-rtp stats; undefined when there are none (yet, or any more). */
export async function receiveStats(track: RemoteTrack): Promise<ReceiveStats | undefined> {
  for (const s of (await trackStats(track)) ?? []) {
    if (s.stats.case === 'inboundRtp' && s.stats.value.inbound) return fromInbound(s.stats.value.inbound);
  }
  return undefined;
}

function fromInbound(i: InboundRtpStreamStats): ReceiveStats {
  return {
    jitterBufferDelay: i.jitterBufferDelay ?? 0,
    jitterBufferEmittedCount: Number(i.jitterBufferEmittedCount ?? 0),
    jitterBufferTargetDelay: i.jitterBufferTargetDelay ?? 0,
    jitterBufferMinimumDelay: i.jitterBufferMinimumDelay ?? 0,
    lastPacketReceivedTimestamp: i.lastPacketReceivedTimestamp ?? 0,
    estimatedPlayoutTimestamp: i.estimatedPlayoutTimestamp ?? 0,
    concealedSamples: Number(i.concealedSamples ?? 0),
    silentConcealedSamples: Number(i.silentConcealedSamples ?? 0),
    insertedSamplesForDeceleration: Number(i.insertedSamplesForDeceleration ?? 0),
    removedSamplesForAcceleration: Number(i.removedSamplesForAcceleration ?? 0),
  };
}
