import * as HLS from 'hls-parser';
import { EdgeState } from '../../src/api/live-edge/edge-state';
import type { EdgeMeta } from '../../src/contracts/live-edge';
import { AdtsReader } from '../../src/ingest/outputs/adts';
import { AAC_FRAME_SAMPLES, initSegment, readFragments, wholeFragmentsLength } from '../../src/ingest/outputs/fmp4';
import { type CutPart, type CutSegment, PartCutter } from '../../src/ingest/outputs/part-cutter';

HLS.setOptions({ strictMode: true });

/** An ADTS frame (AAC-LC, 48 kHz, mono, no CRC) around `payload`. */
function adts(payload: Buffer): Buffer {
  const len = payload.length + 7;
  const h = Buffer.from([0xff, 0xf1, (1 << 6) | (3 << 2) | 0, (1 << 6) | ((len >> 11) & 3), (len >> 3) & 0xff, ((len & 7) << 5) | 0x1f, 0xfc]);
  return Buffer.concat([h, payload]);
}

test('ADTS: frames come out whole whatever the pipe cuts, with the stream’s AudioSpecificConfig', () => {
  const frames = Array.from({ length: 5 }, (_, i) => Buffer.alloc(100 + i * 7, i + 1));
  const stream = Buffer.concat(frames.map(adts));
  const out: Buffer[] = [];
  let asc: Buffer | undefined;
  const r = new AdtsReader((raw, c) => {
    out.push(raw);
    asc = c.asc;
    expect([c.sampleRate, c.channels, c.objectType]).toEqual([48000, 1, 2]);
  });
  for (let i = 0; i < stream.length; i += 37) r.push(stream.subarray(i, i + 37));
  expect(out).toEqual(frames);
  expect(asc).toEqual(Buffer.from([0x11, 0x88])); // AAC-LC, 48 kHz (index 3), mono
  expect(() => new AdtsReader(() => undefined).push(Buffer.from('not adts at all'))).toThrow(/sync/);
});

function cut(o: { firstMsn?: number; position?: number; frames: number }) {
  const parts: CutPart[] = [];
  const segments: CutSegment[] = [];
  const c = new PartCutter({ firstMsn: o.firstMsn ?? 0, position: o.position ?? 0, partFrames: 10, partsPerSegment: 9, onPart: (p) => parts.push(p), onSegment: (s) => segments.push(s) });
  for (let i = 0; i < o.frames; i++) c.push(Buffer.alloc(50, i % 256));
  c.end();
  return { parts, segments };
}

test('parts of 10 frames, segments of 9 parts, decode times on the timeline, a short tail closing the last', () => {
  const { parts, segments } = cut({ firstMsn: 7, position: 48_000, frames: 200 });
  expect(segments.map((s) => s.msn)).toEqual([7, 8, 9]);
  expect(segments.map((s) => s.samples / AAC_FRAME_SAMPLES)).toEqual([90, 90, 20]);
  expect(segments[1].start).toBe(48_000 + 90 * AAC_FRAME_SAMPLES);
  // The tail ended on a part boundary: segment 9 closes without a last part (the edge learns it from
  // the end entry, or from the next run starting after it).
  expect(parts.filter((p) => p.last).map((p) => `${p.msn}.${p.part}`)).toEqual(['7.8', '8.8']);
  for (const [i, p] of parts.entries()) expect(p.decodeTime).toBe(48_000 + i * 10 * AAC_FRAME_SAMPLES);
  // What the fragments say about themselves is what was cut.
  const seg8 = Buffer.concat(parts.filter((p) => p.msn === 8).map((p) => p.bytes));
  expect(readFragments(seg8)).toEqual(parts.filter((p) => p.msn === 8).map((p) => ({ decodeTime: p.decodeTime, samples: p.samples })));
  // A segment cut short mid-fragment keeps its whole fragments only.
  const cutShort = seg8.subarray(0, seg8.length - 30);
  expect(readFragments(cutShort)).toHaveLength(8);
  expect(wholeFragmentsLength(cutShort)).toBe(parts.filter((p) => p.msn === 8).slice(0, 8).reduce((n, p) => n + p.bytes.length, 0));
  expect(initSegment({ objectType: 2, sampleRate: 48000, channels: 1, asc: Buffer.from([0x11, 0x88]) }, 64000).toString('latin1', 4, 8)).toBe('ftyp');
});

/** The entries an ingest would publish for `frames` AAC frames (run first). */
function entries(o: { firstMsn?: number; position?: number; frames: number; discontinuity?: boolean }): Array<[EdgeMeta, Buffer | undefined]> {
  const { parts } = cut(o);
  const startedAt = Date.parse('2026-11-30T10:00:00Z');
  return [
    [{ t: 'run', firstMsn: o.firstMsn ?? 0, discontinuity: !!o.discontinuity, partTarget: 10240 / 48000, targetDuration: 2 }, Buffer.from('init')],
    ...parts.map((p): [EdgeMeta, Buffer] => [
      { t: 'part', msn: p.msn, part: p.part, duration: p.samples / 48000, segmentStartMs: startedAt + (p.segmentStart / 48000) * 1000, last: p.last, partTarget: 10240 / 48000, targetDuration: 2 },
      p.bytes,
    ]),
  ];
}

const feed = (s: EdgeState, list: Array<[EdgeMeta, Buffer | undefined]>) => list.forEach(([m, b]) => s.apply(m, b));

test('the edge renders valid LL-HLS: parts of the last segments only, the hint at the next part, delta updates', () => {
  const s = new EdgeState();
  // 100 frames = 10 parts: segment 0 whole (9 parts), segment 1 open with 1 part (the cutter's tail
  // is dropped here: no end() yet).
  feed(s, entries({ frames: 100 * 8 }).slice(0, 1 + 70));
  const text = s.render({});
  const p = HLS.parse(text) as HLS.types.MediaPlaylist;
  expect(p.partTargetDuration).toBeCloseTo(0.21333, 4);
  expect(p.segments.filter((x) => x.uri).map((x) => x.uri)).toEqual(['seg_000000.m4s', 'seg_000001.m4s', 'seg_000002.m4s', 'seg_000003.m4s', 'seg_000004.m4s', 'seg_000005.m4s', 'seg_000006.m4s']);
  // Parts for at most the last two whole segments and the open one.
  expect(p.segments.map((x) => x.parts.length > 0)).toEqual([false, false, false, false, false, true, true, true]);
  const open = p.segments.at(-1)!;
  expect(open.parts.filter((x) => !x.hint)).toHaveLength(7); // 70 parts = 7 whole segments + 7
  expect(open.parts.at(-1)).toMatchObject({ hint: true, uri: 'seg_000007.p7.m4s' });
  // A delta update keeps 12 s (6 target durations) and skips the rest.
  const delta = HLS.parse(s.render({ skip: true })) as HLS.types.MediaPlaylist;
  expect(delta.skip).toBe(1);
  expect(delta.segments.length + delta.skip).toBe(p.segments.length);
  // The sliding window.
  const win = HLS.parse(s.render({ window: 3 })) as HLS.types.MediaPlaylist;
  expect(win.mediaSequenceBase).toBe(4);
});

test('a playlist is rendered as of the requested part: two api processes answer the same bytes', () => {
  const all = entries({ frames: 400 });
  const behind = new EdgeState();
  const ahead = new EdgeState();
  feed(behind, all.slice(0, 25));
  feed(ahead, all.slice(0, 33));
  const at = { msn: 2, part: 5 };
  expect(behind.reached(at)).toBe(true);
  expect(ahead.render({ at })).toBe(behind.render({ at }));
  expect(ahead.render({ at, skip: true, uriQuery: 'token=x' })).toBe(behind.render({ at, skip: true, uriQuery: 'token=x' }));
  expect(ahead.render({})).not.toBe(behind.render({}));
  // A private room's credentials go on every URI a player follows: init, segments, parts, the hint.
  const priv = behind.render({ at, uriQuery: 'token=x' });
  const uris = [...priv.matchAll(/URI="([^"]+)"/g)].map((m) => m[1]).concat(priv.split('\n').filter((l) => l && !l.startsWith('#')));
  expect(uris.length).toBeGreaterThan(10);
  for (const u of uris) expect(u).toMatch(/\?token=x$/);
  expect(behind.render({ at })).not.toContain('token=');
  // A part past a whole segment's last is the next segment's first; segment 3 is not there yet for one of them.
  expect(ahead.normalize({ msn: 1, part: 9 })).toEqual({ msn: 2, part: 0 });
  expect(behind.reached({ msn: 3, part: 0 })).toBe(false);
  expect(behind.wholeSegment(1)).toBe(true);
  expect(behind.wholeSegment(2)).toBe(false);
  expect(ahead.part(2, 5)).toEqual(all[1 + 9 * 2 + 5][1]);
  expect(ahead.segment(1)).toEqual(Buffer.concat(all.slice(10, 19).map(([, b]) => b!)));
});

test('a resumed run forgets the lost run’s unfinished segment and goes on after a discontinuity', () => {
  const s = new EdgeState();
  feed(s, entries({ frames: 200 })); // segments 0 and 1 whole, 2 open with 2 parts when the ingest died
  const lostAt = s.latest!;
  expect(lostAt).toEqual({ msn: 2, part: 1 });
  const run = s.run;
  // The new recorder starts after what S3 has (segment 1), its timeline position further on (the gap).
  const resumed = entries({ firstMsn: 2, position: 180 * 1024 + 5 * 48_000, frames: 30, discontinuity: true });
  // A request held across the gap is answered by the new run's first part, not by its run entry.
  feed(s, resumed.slice(0, 1));
  expect([s.run, s.partsThisRun]).toEqual([run + 1, 0]);
  feed(s, resumed.slice(1));
  expect(s.partsThisRun).toBe(3);
  const p = HLS.parse(s.render({})) as HLS.types.MediaPlaylist;
  const seg2 = p.segments.find((x) => x.mediaSequenceNumber === 2)!;
  expect(seg2.discontinuity).toBe(true);
  expect(p.segments.map((x) => x.mediaSequenceNumber)).toEqual([0, 1, 2]);
  expect(seg2.parts.filter((x) => !x.hint)).toHaveLength(3);
  s.apply({ t: 'end' }, undefined);
  expect(s.render({})).toContain('#EXT-X-ENDLIST');
  expect(s.render({})).not.toContain('PRELOAD-HINT');
});

test('a hand-over: the next run starts after the segment the last one closed without a last part', () => {
  const s = new EdgeState();
  feed(s, entries({ frames: 200 })); // segment 2 closed by end() on a part boundary: no last part
  expect(s.wholeSegment(2)).toBe(false);
  feed(s, entries({ firstMsn: 3, position: 200 * 1024 + 48_000, frames: 20, discontinuity: true }));
  const p = HLS.parse(s.render({})) as HLS.types.MediaPlaylist;
  expect(p.segments.filter((x) => x.uri).map((x) => x.mediaSequenceNumber)).toEqual([0, 1, 2]);
  expect(p.segments.at(-1)!.mediaSequenceNumber).toBe(3);
  expect(p.segments.at(-1)!.discontinuity).toBe(true);
});

test('segments S3 listed before the stream’s oldest entry are listed first; a gap starts the list over', () => {
  const all = entries({ frames: 300 });
  const s = new EdgeState();
  // The stream was trimmed: it holds segment 2 on (and no run entry).
  feed(s, all.filter(([m]) => m.t === 'part' && m.msn >= 2));
  const listed = [0, 1].map((seq) => ({ seq, uri: `seg_00000${seq}.m4s`, duration: 1.92, programDateTime: new Date(Date.parse('2026-11-30T10:00:00Z') + seq * 1920), discontinuity: false }));
  s.seed(listed);
  const p = HLS.parse(s.render({})) as HLS.types.MediaPlaylist;
  expect(p.segments.filter((x) => x.uri).map((x) => x.mediaSequenceNumber)).toEqual([0, 1, 2]);
  const t = new EdgeState();
  feed(t, all.filter(([m]) => m.t === 'part' && m.msn >= 2));
  t.seed(listed.slice(0, 1)); // S3 is behind (an outage): no hole in the list
  expect((HLS.parse(t.render({})) as HLS.types.MediaPlaylist).mediaSequenceBase).toBe(2);
});
