// A TCP proxy on one directed peer link (member A dialing member B): A's Raft messages to B, and the
// acknowledgements of that stream, pass through it. The fault harness starts one per ordered pair
// of members and points each member's dialing at them (the peer-dial-map failpoint), so it can cut
// any link in either direction without root.
//
// Modes:
// - pass:  bytes flow.
// - stall: bytes are held (sockets paused), as on a network that drops packets while TCP keeps
//          retrying; a heal delivers what was held, late. Long stalls look like a partition.
// - reset: connections are destroyed and new ones refused, as on a network that answers with RST.
// - delay: each chunk is forwarded after `delayMs`, in order.

import { connect, createServer, type Server, type Socket } from 'node:net';

export type LinkMode = 'pass' | 'stall' | 'reset' | 'delay';

interface Pair {
  readonly inbound: Socket;
  readonly outbound: Socket;
}

export class LinkProxy {
  private mode: LinkMode = 'pass';
  private delayMs = 0;
  private readonly pairs = new Set<Pair>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly targetPort: number,
    readonly name: string,
  ) {}

  /** Listens on a free loopback port (or `port`) and forwards to `targetPort`. */
  static async start(targetPort: number, name: string, port = 0): Promise<LinkProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const address = server.address();
    const proxy = new LinkProxy(server, typeof address === 'object' && address !== null ? address.port : port, targetPort, name);
    server.on('connection', (inbound) => proxy.accept(inbound));
    return proxy;
  }

  get currentMode(): LinkMode {
    return this.mode;
  }

  setMode(mode: LinkMode, delayMs = 0): void {
    this.mode = mode;
    this.delayMs = delayMs;
    if (mode === 'reset') for (const pair of [...this.pairs]) this.destroy(pair);
    for (const pair of this.pairs) {
      if (mode === 'stall') {
        pair.inbound.pause();
        pair.outbound.pause();
      } else {
        pair.inbound.resume();
        pair.outbound.resume();
      }
    }
  }

  private accept(inbound: Socket): void {
    if (this.mode === 'reset') {
      inbound.destroy();
      return;
    }
    const outbound = connect(this.targetPort, '127.0.0.1');
    const pair: Pair = { inbound, outbound };
    this.pairs.add(pair);
    this.forward(inbound, outbound);
    this.forward(outbound, inbound);
    for (const socket of [inbound, outbound]) {
      socket.on('error', () => this.destroy(pair));
      socket.on('close', () => this.destroy(pair));
    }
    if (this.mode === 'stall') {
      inbound.pause();
      outbound.pause();
    }
  }

  /** Copies `from` to `to`, through the delay when there is one; backpressure pauses `from`. */
  private forward(from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      const write = (): void => {
        if (to.destroyed) return;
        if (!to.write(chunk) && this.mode !== 'stall') {
          from.pause();
          to.once('drain', () => this.mode !== 'stall' && from.resume());
        }
      };
      if (this.mode === 'delay' && this.delayMs > 0) setTimeout(write, this.delayMs);
      else write();
    });
  }

  private destroy(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.inbound.destroy();
    pair.outbound.destroy();
  }

  async close(): Promise<void> {
    this.setMode('reset');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
