/**
 * What the bench's speakers say: 4 speakers per room taking 4 s turns (a turn is ~2.8 s of
 * syllable-like tone bursts, then a pause, so with DTX on each speaker is silent ~80 % of the
 * time), and a 1 kHz beep every 1.236 s (whoever holds the turn sends it). Beeps are the known
 * moments the sound → S3 delay is measured from; 1.236 s against 2 s segments (golden ratio)
 * spreads them evenly over a segment's length, so the delays are not biased to one place in it.
 */
export interface ToneCue {
  atMs: number;
  freq: number;
  durMs: number;
  dbfs: number;
}

export interface BotScript {
  room: string;
  identity: string;
  name: string;
  cues: ToneCue[];
}

export interface Beep {
  room: string;
  identity: string;
  /** Script time (ms from the epoch): the beep leaves the bot at epoch + atMs. */
  atMs: number;
}

export const SPEAKERS_PER_ROOM = 4;
export const BEEP_HZ = 1000;
const TURN_MS = 4000;
const TALK_MS = 2800;
const SYLLABLE_MS = 250;
const SYLLABLE_GAP_MS = 150;
/** 2 s segments × 0.618: each beep lands 0.618 of a segment further on, so few beeps cover every phase evenly. */
const BEEP_EVERY_MS = 1236;

export function roomScript(room: string, roomIndex: number, seconds: number): { bots: BotScript[]; beeps: Beep[] } {
  const endMs = seconds * 1000 - 500;
  const bots: BotScript[] = Array.from({ length: SPEAKERS_PER_ROOM }, (_, s) => ({
    room,
    identity: `speaker-${s}`,
    name: `Speaker ${s}`,
    cues: [],
  }));
  const speakerAt = (t: number) => bots[(Math.floor(t / TURN_MS) + roomIndex) % SPEAKERS_PER_ROOM];
  for (let turn = 0; turn * TURN_MS < endMs; turn++) {
    const start = turn * TURN_MS + 300;
    const bot = speakerAt(start);
    const freq = 220 + 110 * Number(bot.identity.slice(-1));
    for (let t = start; t < Math.min(start + TALK_MS, endMs); t += SYLLABLE_MS + SYLLABLE_GAP_MS) {
      bot.cues.push({ atMs: t, freq, durMs: SYLLABLE_MS, dbfs: -18 });
    }
  }
  const beeps: Beep[] = [];
  // Rooms are staggered so their beeps (and segment phases) differ.
  for (let t = 1000 + ((roomIndex * 137) % BEEP_EVERY_MS); t < endMs; t += BEEP_EVERY_MS) {
    const bot = speakerAt(t);
    bot.cues.push({ atMs: t, freq: BEEP_HZ, durMs: 100, dbfs: -8 });
    beeps.push({ room, identity: bot.identity, atMs: t });
  }
  return { bots, beeps };
}
