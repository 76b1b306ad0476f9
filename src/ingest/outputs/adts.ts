/**
 * Splits FFmpeg's ADTS output into raw AAC frames (1024 samples each). ADTS is the one AAC
 * stream FFmpeg writes frame by frame to a pipe; the frames then go into fMP4 fragments cut
 * exactly where the parts of the LL-HLS stream must end, which a muxer choosing its own fragment
 * boundaries could not give us.
 */
export interface AacConfig {
  /** MPEG-4 Audio object type (2: AAC-LC). */
  objectType: number;
  sampleRate: number;
  channels: number;
  /** AudioSpecificConfig (ISO 14496-3), as an MP4 esds carries it. */
  asc: Buffer;
}

const RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

export class AdtsReader {
  private pending: Buffer = Buffer.alloc(0);
  config: AacConfig | undefined;

  constructor(private readonly onFrame: (raw: Buffer, config: AacConfig) => void) {}

  push(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let off = 0;
    while (buf.length - off >= 7) {
      if (buf[off] !== 0xff || (buf[off + 1] & 0xf6) !== 0xf0) throw new Error(`ADTS sync lost at byte ${off}`);
      const protectionAbsent = buf[off + 1] & 1;
      const length = ((buf[off + 3] & 3) << 11) | (buf[off + 4] << 3) | (buf[off + 5] >> 5);
      if (buf.length - off < length) break;
      const header = protectionAbsent ? 7 : 9;
      if ((buf[off + 6] & 3) !== 0) throw new Error('ADTS frames with several raw data blocks are not supported');
      this.config ??= configOf(buf.subarray(off, off + 7));
      this.onFrame(Buffer.from(buf.subarray(off + header, off + length)), this.config);
      off += length;
    }
    this.pending = Buffer.from(buf.subarray(off));
    buf = this.pending;
  }
}

function configOf(h: Buffer): AacConfig {
  const objectType = (h[2] >> 6) + 1;
  const rateIndex = (h[2] >> 2) & 0xf;
  const channels = ((h[2] & 1) << 2) | (h[3] >> 6);
  const asc = Buffer.alloc(2);
  asc.writeUInt16BE((objectType << 11) | (rateIndex << 7) | (channels << 3));
  return { objectType, sampleRate: RATES[rateIndex], channels, asc };
}
