import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import IORedis from 'ioredis';
import { DaemonSpec, daemonPid, startDaemon, stopDaemon } from '../../src/stack/daemon';
import { TOOLS_BIN } from '../../src/stack/settings';
import { renderLivekitConfig } from '../../src/stack/stack';
import { PORT_SHIFT, testSettings } from './env';
import { TcpBalancer } from './tcp-balancer';

/** The Redis database the cluster's nodes share (the test stack's Redis; roomcast's queues are in 0). */
const LIVEKIT_DB = 5;

/**
 * Multi-node LiveKit as LiveKit documents it: several livekit-server processes sharing one Redis
 * (`redis:` in the config turns on its Redis router), rooms placed on the node with the fewest
 * (`node_selector`), webhooks from every node to `webhookUrl`, and a TCP balancer in front that
 * clients and roomcast use as LIVEKIT_URL.
 */
export class LivekitCluster {
  readonly nodes: DaemonSpec[];
  readonly balancer: TcpBalancer;
  readonly url: string;
  private readonly redisUrl: string;

  constructor(o: { webhookUrl: string; basePort?: number }) {
    const s = testSettings();
    const base = (o.basePort ?? 18200) + PORT_SHIFT;
    const runDir = path.join(s.dataDir, 'run-cluster');
    const redis = new URL(s.redisUrl);
    this.redisUrl = `${s.redisUrl.replace(/\/\d*$/, '')}/${LIVEKIT_DB}`;
    const extra = [
      'redis:',
      `  address: ${redis.hostname}:${redis.port || 6379}`,
      `  db: ${LIVEKIT_DB}`,
      'node_selector:',
      '  kind: any',
      '  sort_by: rooms',
      '',
    ].join('\n');
    this.nodes = ['a', 'b'].map((name, i) => {
      const port = base + i * 10;
      const config = path.join(runDir, `livekit-${name}.yaml`);
      return { name: `livekit-node-${name}`, command: path.join(TOOLS_BIN, 'livekit-server'), args: ['--config', config], port, runDir, configText: renderLivekitConfig(s, { port, rtcTcpPort: port + 1, rtcUdpPort: port + 2, webhookUrl: o.webhookUrl, extra }), configFile: config };
    }).map(({ configText, configFile, ...spec }) => {
      mkdirSync(runDir, { recursive: true });
      writeFileSync(configFile, configText, { mode: 0o600 });
      return spec;
    });
    this.balancer = new TcpBalancer(base + 20, this.nodes.map((n) => n.port));
    this.url = `ws://127.0.0.1:${base + 20}`;
  }

  /** Clears what earlier runs left in the nodes' Redis database, then starts the balancer and both nodes. */
  async start(): Promise<void> {
    const redis = new IORedis(this.redisUrl);
    await redis.flushdb();
    redis.disconnect();
    await this.balancer.start();
    for (const n of this.nodes) await this.startNode(n);
  }

  async startNode(n: DaemonSpec): Promise<void> {
    await startDaemon(n);
  }

  /** The node that holds the room now (LiveKit's room → node map in Redis). */
  async nodeOf(room: string): Promise<DaemonSpec | undefined> {
    const redis = new IORedis(this.redisUrl);
    try {
      const id = await redis.hget('room_node_map', room);
      if (!id) return undefined;
      return this.nodes.find((n) => this.idOf(n) === id);
    } finally {
      redis.disconnect();
    }
  }

  /** A node's id in its current run, as it logged it at start. */
  idOf(n: DaemonSpec): string | undefined {
    const log = readFileSync(path.join(n.runDir, `${n.name}.log`), 'utf8');
    const starts = log.split('\n').filter((l) => l.includes('"starting LiveKit server"'));
    return starts.length ? (JSON.parse(starts[starts.length - 1]) as { nodeID: string }).nodeID : undefined;
  }

  pid(n: DaemonSpec): number | undefined {
    return daemonPid(n);
  }

  async stop(): Promise<void> {
    for (const n of this.nodes) await stopDaemon(n, 'SIGKILL');
    await this.balancer.stop();
  }
}
