import type IORedis from 'ioredis';

/**
 * Small shared state between the api and ingest processes, in Redis: stop requests and which
 * recording is live in a room. Everything expires, so a lost process leaves nothing stuck forever.
 */
const DAY = 24 * 3600;

export class Control {
  constructor(
    private readonly redis: IORedis,
    private readonly prefix: string,
  ) {}

  /** The connection itself, for what shares it (the live edge's entries). */
  get connection(): IORedis {
    return this.redis;
  }

  private k(...parts: string[]): string {
    return [this.prefix, 'ctl', ...parts].join(':');
  }

  async requestStop(target: { recordingId?: string; roomSid?: string }, reason: string): Promise<void> {
    const multi = this.redis.multi();
    if (target.recordingId) multi.set(this.k('stop', 'rec', target.recordingId), reason, 'EX', DAY);
    if (target.roomSid) multi.set(this.k('stop', 'sid', target.roomSid), reason, 'EX', DAY);
    await multi.exec();
  }

  async stopReason(recordingId: string, roomSid: string): Promise<string | null> {
    const [byRec, bySid] = await this.redis.mget(this.k('stop', 'rec', recordingId), this.k('stop', 'sid', roomSid));
    return byRec ?? bySid;
  }

  /** Marks a recording live in its room; refreshed by the ingest while it records. */
  async setActive(room: string, info: ActiveRecording, ttlSeconds = 30): Promise<void> {
    await this.redis.set(this.k('active', room), JSON.stringify(info), 'EX', ttlSeconds);
  }

  async getActive(room: string): Promise<ActiveRecording | null> {
    const v = await this.redis.get(this.k('active', room));
    return v ? (JSON.parse(v) as ActiveRecording) : null;
  }

  /** Clears the room's active mark if it is still this recording's (and this owner's). */
  async clearActive(room: string, recordingId: string, owner?: string): Promise<void> {
    const cur = await this.getActive(room);
    if (cur?.recordingId === recordingId && (!owner || !cur.owner || cur.owner === owner)) await this.redis.del(this.k('active', room));
  }

  /** A recorder's pulse, renewed every fraction of a second while it records; it lapses `ttlMs` after the recorder stops. */
  async beat(recordingId: string, owner: string, ttlMs = 3000): Promise<void> {
    await this.redis.set(this.k('beat', recordingId), owner, 'PX', ttlMs);
  }

  /** The owner whose recorder is alive now (its pulse has not lapsed), if any. */
  async beatingOwner(recordingId: string): Promise<string | null> {
    return this.redis.get(this.k('beat', recordingId));
  }

  async endBeat(recordingId: string, owner: string): Promise<void> {
    if ((await this.beatingOwner(recordingId)) === owner) await this.redis.del(this.k('beat', recordingId));
  }

  /** Seconds since Redis started: a lapsed pulse means little just after a Redis restart. */
  async redisUptimeSeconds(): Promise<number> {
    const info = await this.redis.info('server');
    return Number(/uptime_in_seconds:(\d+)/.exec(info)?.[1] ?? Infinity);
  }

  async setSpeaking(room: string, info: LiveSpeaking, ttlSeconds = 10): Promise<void> {
    await this.redis.set(this.k('speaking', room), JSON.stringify(info), 'EX', ttlSeconds);
  }

  async getSpeaking(room: string): Promise<LiveSpeaking | null> {
    const v = await this.redis.get(this.k('speaking', room));
    return v ? (JSON.parse(v) as LiveSpeaking) : null;
  }

  async listActive(): Promise<ActiveRecording[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', this.k('active', '*'), 'COUNT', 200);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    if (keys.length === 0) return [];
    const vals = await this.redis.mget(keys);
    return vals.filter((v): v is string => !!v).map((v) => JSON.parse(v) as ActiveRecording);
  }
}

export interface ActiveRecording {
  room: string;
  roomSid: string;
  recordingId: string;
  startedAt: string;
  /** When the recorder had joined the room. */
  joinedAt?: string;
  visibility?: 'public' | 'private';
  /** The ingest that records it now (a resumed recording gets a new owner). */
  owner?: string;
}

/** Who is speaking in a live room, for the live player: speech intervals on the recording's timeline. */
export interface LiveSpeaking {
  recordingId: string;
  /** Recording time (ms) this was written at. */
  atMs: number;
  speakers: Array<{ identity: string; name: string; intervals: Array<[number, number]> }>;
}
