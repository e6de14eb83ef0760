// A TCP proxy in front of one member's peer port, so a test can cut the traffic the others send
// it (appends, heartbeats, read answers) while the member itself keeps running and serving clients.

import { createServer, connect, type Server, type Socket } from 'node:net';

export class PeerProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private blocked = false;

  private constructor(server: Server) {
    this.server = server;
  }

  static async start(listenPort: number, targetPort: number): Promise<PeerProxy> {
    const server = createServer();
    const proxy = new PeerProxy(server);
    server.on('connection', (inbound) => proxy.accept(inbound, targetPort));
    await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
    return proxy;
  }

  private accept(inbound: Socket, targetPort: number): void {
    if (this.blocked) {
      inbound.destroy();
      return;
    }
    const outbound = connect(targetPort, '127.0.0.1');
    for (const socket of [inbound, outbound]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  }

  /** Cuts every connection through the proxy and refuses new ones until unblocked. */
  block(): void {
    this.blocked = true;
    for (const socket of this.sockets) socket.destroy();
  }

  unblock(): void {
    this.blocked = false;
  }

  async close(): Promise<void> {
    this.block();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
