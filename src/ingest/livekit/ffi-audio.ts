import {
  AudioStreamType,
  FfiHandle,
  type AudioStreamEvent,
  type FfiEvent,
  type FfiRequest,
  type NewAudioStreamResponse,
  type PartialMessage,
} from '@livekit/rtc-ffi-bindings';
import type { RemoteTrack } from '@livekit/rtc-node';

/**
 * A remote track's decoded audio straight from the FFI, one callback per frame.
 *
 * Why not rtc-node's AudioStream: rtc-node hands every FFI event (each 10 ms frame of every track
 * of every room) to every listener — each AudioStream and each Room, and a Room takes an async
 * lock per event — before a frame goes through a ReadableStream and an async iterator. Profiled
 * on one room of four speakers that path was ~40 % of the ingest's JS time, and it grows with the
 * square of the rooms in a process. Here the frame events of our streams are routed by stream
 * handle before anyone else sees them; every other event goes on as before.
 *
 * It relies on rtc-node 1.1's FFI client (on globalThis, as receive-stats.ts does); when that is
 * not there, openTrackAudio returns undefined and the caller uses AudioStream.
 */
export interface TrackAudioReader {
  /** Resolves at the stream's end (eos, or close()); rejects if onPcm threw. */
  done: Promise<void>;
  close(): void;
}

interface FfiClientLike {
  request<T>(req: PartialMessage<FfiRequest>): T;
  copyBuffer(ptr: bigint, len: number): Uint8Array;
  emit(event: string | symbol, ...args: unknown[]): boolean;
}

type Route = (ev: AudioStreamEvent) => void;
const routes = new Map<bigint, Route>();
let routed: FfiClientLike | undefined;

function ffiClient(): FfiClientLike | undefined {
  const c = (globalThis as unknown as { _ffiClientInstance?: FfiClientLike })._ffiClientInstance;
  if (!c || typeof c.request !== 'function' || typeof c.copyBuffer !== 'function' || typeof c.emit !== 'function') return undefined;
  if (routed !== c) {
    const emit = c.emit;
    c.emit = function (this: FfiClientLike, name: string | symbol, ...args: unknown[]): boolean {
      const ev = args[0] as FfiEvent | undefined;
      if (name === 'ffi_event' && ev?.message?.case === 'audioStreamEvent') {
        const route = routes.get(ev.message.value.streamHandle ?? -1n);
        if (route) {
          route(ev.message.value); // never throws: it ends its stream instead (a throw here would end the process)
          return true;
        }
      }
      return emit.call(this, name, ...args);
    };
    routed = c;
  }
  return c;
}

export function openTrackAudio(
  track: RemoteTrack,
  format: { sampleRate: number; numChannels: number; frameSizeMs: number },
  onPcm: (pcm: Int16Array) => void,
): TrackAudioReader | undefined {
  const client = ffiClient();
  const trackHandle = (track as unknown as { ffi_handle?: { handle?: bigint } }).ffi_handle?.handle;
  if (!client || trackHandle === undefined) return undefined;
  const res = client.request<NewAudioStreamResponse>({
    message: { case: 'newAudioStream', value: { type: AudioStreamType.AUDIO_STREAM_NATIVE, trackHandle, ...format } },
  });
  const id = res.stream?.handle?.id;
  if (id === undefined) return undefined;
  let finish!: (err?: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = (err) => {
      if (!routes.delete(id)) return;
      drop(id); // the FFI feeds a stream until its handle is dropped
      if (err) reject(err);
      else resolve();
    };
  });
  const onEvent = (ev: AudioStreamEvent) => {
    if (ev.message.case === 'eos') return finish();
    if (ev.message.case !== 'frameReceived') return;
    const owned = ev.message.value.frame;
    if (!owned?.info || owned.handle?.id === undefined) return;
    const { info } = owned;
    const bytes = client.copyBuffer(info.dataPtr ?? 0n, (info.numChannels ?? 0) * (info.samplesPerChannel ?? 0) * 2);
    drop(owned.handle.id);
    onPcm(bytes.byteOffset % 2 === 0 ? new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2) : new Int16Array(bytes.slice().buffer));
  };
  routes.set(id, (ev) => {
    try {
      onEvent(ev);
    } catch (err) {
      finish(err);
    }
  });
  return { done, close: () => finish() };
}

function drop(handle: bigint): void {
  try {
    new FfiHandle(handle).dispose();
  } catch {
    /* already dropped on the Rust side */
  }
}
