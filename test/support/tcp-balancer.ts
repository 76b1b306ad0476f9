import net from 'node:net';

/**
 * A TCP load balancer in front of several livekit-server nodes, as operators put one (L4, no
 * stickiness): each new connection goes to the next node in turn that accepts it, so a dead node's
 * share moves to the others. Signalling (WebSocket) and RoomService calls go through it; media goes
 * to each node's own RTC ports, as LiveKit's ICE candidates say.
 */
export class TcpBalancer {
  private server: net.Server | undefined;
  private next = 0;
  private readonly open = new Set<net.Socket>();
  /** Which backend each accepted connection went to, by port (for the test's log). */
  readonly served = new Map<number, number>();

  constructor(
    readonly port: number,
    readonly backends: number[],
  ) {}

  async start(): Promise<void> {
    this.server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  private accept(client: net.Socket): void {
    this.open.add(client);
    client.once('close', () => this.open.delete(client));
    client.on('error', () => undefined);
    client.pause();
    const first = this.next++ % this.backends.length;
    const tryBackend = (k: number) => {
      if (k >= this.backends.length) return client.destroy();
      const port = this.backends[(first + k) % this.backends.length];
      const upstream = net.connect({ port, host: '127.0.0.1' });
      let connected = false;
      upstream.on('error', () => (connected ? client.destroy() : tryBackend(k + 1)));
      upstream.once('connect', () => {
        connected = true;
        this.served.set(port, (this.served.get(port) ?? 0) + 1);
        this.open.add(upstream);
        upstream.once('close', () => {
          this.open.delete(upstream);
          client.destroy();
        });
        client.once('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryBackend(0);
  }

  async stop(): Promise<void> {
    for (const s of this.open) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
