import type { RemoteTrack } from '@livekit/rtc-node';
import { openTrackAudio } from '../../src/ingest/livekit/ffi-audio';

const dropped: bigint[] = [];
// The native FfiHandle drops its handle when garbage-collected too: made-up ids must never reach it.
jest.mock('@livekit/rtc-ffi-bindings', () => ({
  ...jest.requireActual('@livekit/rtc-ffi-bindings'),
  FfiHandle: class {
    constructor(readonly handle: bigint) {}
    dispose(): void {
      dropped.push(this.handle);
    }
  },
}));

/**
 * The routing of frame events by stream handle, against a stand-in for rtc-node's FFI client (the
 * real one is exercised by every recording integration test; this pins what those cannot see:
 * which events bypass rtc-node's listeners, and that a failing consumer cannot crash the FFI).
 */
const STREAM = 99n;
const g = globalThis as unknown as { _ffiClientInstance?: unknown };
const saved = g._ffiClientInstance;
const passedOn: unknown[] = [];
const requests: unknown[] = [];
const client = {
  request: (req: unknown) => {
    requests.push(req);
    return { stream: { handle: { id: STREAM } } };
  },
  copyBuffer: (ptr: bigint, len: number) => {
    const out = new Int16Array(len / 2);
    for (let i = 0; i < out.length; i++) out[i] = Number(ptr) + i;
    return new Uint8Array(out.buffer);
  },
  emit: (_name: string, ev: unknown) => {
    passedOn.push(ev);
    return true;
  },
};
const track = { ffi_handle: { handle: 7n } } as unknown as RemoteTrack;
const format = { sampleRate: 48000, numChannels: 1, frameSizeMs: 10 };

const streamEvent = (stream: bigint, message: unknown) => ({ message: { case: 'audioStreamEvent', value: { streamHandle: stream, message } } });
const frame = (stream: bigint, ptr: number, samples: number) =>
  streamEvent(stream, { case: 'frameReceived', value: { frame: { handle: { id: 1000n + BigInt(ptr) }, info: { dataPtr: BigInt(ptr), numChannels: 1, samplesPerChannel: samples } } } });
const emit = (ev: unknown) => (client as { emit: (n: string, e: unknown) => boolean }).emit('ffi_event', ev);

beforeAll(() => {
  g._ffiClientInstance = client;
});
afterAll(() => {
  g._ffiClientInstance = saved;
});
beforeEach(() => {
  passedOn.length = requests.length = dropped.length = 0;
});

test('frames of our stream reach the reader, and only the reader; everything else goes to rtc-node', async () => {
  const got: number[][] = [];
  const reader = openTrackAudio(track, format, (pcm) => got.push([...pcm]));
  expect(reader).toBeDefined();
  expect(requests).toEqual([{ message: { case: 'newAudioStream', value: expect.objectContaining({ trackHandle: 7n, sampleRate: 48000, numChannels: 1, frameSizeMs: 10 }) } }]);

  emit(frame(STREAM, 10, 3));
  const other = frame(5n, 20, 2);
  emit(other);
  const roomEvent = { message: { case: 'roomEvent', value: {} } };
  emit(roomEvent);
  expect(got).toEqual([[10, 11, 12]]);
  expect(passedOn).toEqual([other, roomEvent]);
  expect(dropped).toEqual([1010n]); // the frame's buffer is released once copied

  emit(streamEvent(STREAM, { case: 'eos', value: {} }));
  await expect(reader!.done).resolves.toBeUndefined();
  expect(dropped).toEqual([1010n, STREAM]); // the FFI stops feeding a stream once its handle is dropped
  const late = frame(STREAM, 30, 1);
  emit(late);
  expect(passedOn).toContain(late); // no longer ours
  expect(got).toHaveLength(1);
});

test('other events of the emitter (newListener and the like) pass through untouched', () => {
  openTrackAudio(track, format, () => undefined)!.close();
  const c = client as { emit: (n: string, ...a: unknown[]) => boolean };
  expect(() => c.emit('newListener', 'ffi_event', () => undefined)).not.toThrow();
  expect(passedOn).toEqual(['ffi_event']);
});

test('a consumer that throws ends its stream with the error instead of throwing into the FFI callback', async () => {
  const reader = openTrackAudio(track, format, () => {
    throw new Error('placer broke');
  })!;
  expect(() => emit(frame(STREAM, 1, 2))).not.toThrow();
  await expect(reader.done).rejects.toThrow('placer broke');
  expect(dropped).toContain(STREAM);
});

test('close() ends the stream once, however often it is called', async () => {
  const reader = openTrackAudio(track, format, () => undefined)!;
  reader.close();
  reader.close();
  await expect(reader.done).resolves.toBeUndefined();
  expect(dropped.filter((h) => h === STREAM)).toHaveLength(1);
});

test('without rtc-node\'s FFI client the caller is told to use AudioStream', () => {
  g._ffiClientInstance = undefined;
  try {
    expect(openTrackAudio(track, format, () => undefined)).toBeUndefined();
  } finally {
    g._ffiClientInstance = client;
  }
});
