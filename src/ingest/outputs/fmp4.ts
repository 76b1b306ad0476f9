import type { AacConfig } from './adts';

/**
 * CMAF (fragmented MP4) for one AAC track: the init segment (ftyp + moov) and fragments
 * (moof + mdat) of whole AAC frames. Every fragment is one LL-HLS part; a segment is its parts'
 * fragments end to end (default-base-is-moof makes each fragment stand alone, so parts and the
 * segment are the same bytes). The decode time (tfdt) is the recording's timeline in samples, so
 * a resumed recorder's fragments go on where the lost one's would have.
 *
 * Written here rather than with a muxer library: a part must end after an exact number of AAC
 * frames, and the decode time must follow the recording across encoder restarts; mediabunny and
 * FFmpeg's fragmenting muxer both choose fragment boundaries and start time themselves.
 */
export const AAC_FRAME_SAMPLES = 1024;

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  const vf = Buffer.alloc(4);
  vf.writeUInt32BE(((version & 0xff) << 24) | (flags & 0xffffff));
  return box(type, vf, ...payload);
}

const u32 = (...xs: number[]) => {
  const b = Buffer.alloc(4 * xs.length);
  xs.forEach((x, i) => b.writeUInt32BE(x >>> 0, 4 * i));
  return b;
};
const u16 = (...xs: number[]) => {
  const b = Buffer.alloc(2 * xs.length);
  xs.forEach((x, i) => b.writeUInt16BE(x & 0xffff, 2 * i));
  return b;
};
const MATRIX = u32(0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000);

/** An MPEG-4 descriptor (ISO 14496-1): tag, one-byte length (all ours are short), body. */
function descriptor(tag: number, ...body: Buffer[]): Buffer {
  const b = Buffer.concat(body);
  return Buffer.concat([Buffer.from([tag, b.length]), b]);
}

function esds(c: AacConfig, bitrate: number): Buffer {
  const decoderConfig = descriptor(
    0x04,
    Buffer.from([0x40, 0x15, 0, 0, 0]), // MPEG-4 audio, audio stream, buffer size 0
    u32(bitrate, bitrate),
    descriptor(0x05, c.asc),
  );
  return fullBox('esds', 0, 0, descriptor(0x03, u16(1), Buffer.from([0]), decoderConfig, descriptor(0x06, Buffer.from([0x02]))));
}

/** ftyp + moov of a fragmented file with one AAC track (track 1, timescale = sample rate). */
export function initSegment(c: AacConfig, bitrate: number): Buffer {
  const ftyp = box('ftyp', Buffer.from('iso6', 'latin1'), u32(0), Buffer.from('iso6cmfcmp41', 'latin1'));
  const mvhd = fullBox('mvhd', 0, 0, u32(0, 0, 1000, 0, 0x00010000), u16(0x0100, 0), u32(0, 0), MATRIX, u32(0, 0, 0, 0, 0, 0), u32(2));
  const tkhd = fullBox('tkhd', 0, 3, u32(0, 0, 1, 0, 0, 0, 0), u16(0, 0, 0x0100, 0), MATRIX, u32(0, 0));
  const mdhd = fullBox('mdhd', 0, 0, u32(0, 0, c.sampleRate, 0), u16(0x55c4, 0)); // language "und"
  const hdlr = fullBox('hdlr', 0, 0, u32(0), Buffer.from('soun', 'latin1'), u32(0, 0, 0), Buffer.from('SoundHandler\0', 'latin1'));
  const mp4a = box(
    'mp4a',
    Buffer.alloc(6), u16(1), // reserved, data_reference_index
    u32(0, 0), u16(c.channels, 16, 0, 0), u32(c.sampleRate * 65536),
    esds(c, bitrate),
  );
  const stbl = box(
    'stbl',
    fullBox('stsd', 0, 0, u32(1), mp4a),
    fullBox('stts', 0, 0, u32(0)),
    fullBox('stsc', 0, 0, u32(0)),
    fullBox('stsz', 0, 0, u32(0, 0)),
    fullBox('stco', 0, 0, u32(0)),
  );
  const dinf = box('dinf', fullBox('dref', 0, 0, u32(1), fullBox('url ', 0, 1)));
  const minf = box('minf', fullBox('smhd', 0, 0, u32(0)), dinf, stbl);
  const trak = box('trak', tkhd, box('mdia', mdhd, hdlr, minf));
  const mvex = box('mvex', fullBox('trex', 0, 0, u32(1, 1, AAC_FRAME_SAMPLES, 0, 0)));
  return Buffer.concat([ftyp, box('moov', mvhd, trak, mvex)]);
}

/** One fragment: `frames` (raw AAC) decoding from `decodeTime` (samples on the timeline). */
export function fragment(sequence: number, decodeTime: number, frames: Buffer[]): Buffer {
  const mfhd = fullBox('mfhd', 0, 0, u32(sequence));
  // default-base-is-moof (0x020000) + default sample duration (0x08): 1024 samples each.
  const tfhd = fullBox('tfhd', 0, 0x020008, u32(1, AAC_FRAME_SAMPLES));
  const tfdt = fullBox('tfdt', 1, 0, u32(Math.floor(decodeTime / 2 ** 32), decodeTime % 2 ** 32));
  const trunSize = 8 + 4 + 4 + 4 + 4 * frames.length;
  const moofSize = 8 + mfhd.length + 8 + tfhd.length + tfdt.length + trunSize;
  // data offset (0x01) + sample sizes (0x200); the data starts after the moof and mdat's header.
  const trun = fullBox('trun', 0, 0x000201, u32(frames.length, moofSize + 8, ...frames.map((f) => f.length)));
  const moof = box('moof', mfhd, box('traf', tfhd, tfdt, trun));
  return Buffer.concat([moof, box('mdat', ...frames)]);
}

/** Bytes up to the end of the last whole fragment (moof + its mdat). */
export function wholeFragmentsLength(bytes: Buffer): number {
  let off = 0;
  let whole = 0;
  while (off + 8 <= bytes.length) {
    const size = bytes.readUInt32BE(off);
    if (size < 8 || off + size > bytes.length) break;
    if (bytes.toString('latin1', off + 4, off + 8) === 'mdat') whole = off + size;
    off += size;
  }
  return whole;
}

/** What whole fragments hold: per fragment its decode time and sample count (spool recovery). */
export function readFragments(bytes: Buffer): Array<{ decodeTime: number; samples: number }> {
  const out: Array<{ decodeTime: number; samples: number }> = [];
  let moof: { decodeTime: number; samples: number } | undefined;
  let off = 0;
  while (off + 8 <= bytes.length) {
    const size = bytes.readUInt32BE(off);
    const type = bytes.toString('latin1', off + 4, off + 8);
    if (size < 8 || off + size > bytes.length) break; // a truncated tail: the fragments before it stand
    const b = bytes.subarray(off, off + size);
    if (type === 'moof') {
      const tfdt = b.indexOf('tfdt', 0, 'latin1');
      const trun = b.indexOf('trun', 0, 'latin1');
      moof = tfdt > 0 && trun > 0 ? { decodeTime: b.readUInt32BE(tfdt + 8) * 2 ** 32 + b.readUInt32BE(tfdt + 12), samples: b.readUInt32BE(trun + 8) * AAC_FRAME_SAMPLES } : undefined;
    } else if (type === 'mdat' && moof) {
      out.push(moof);
      moof = undefined;
    }
    off += size;
  }
  return out;
}
