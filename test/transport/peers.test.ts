import { createServer, type Http2Server, type ServerHttp2Session } from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { EntryType, MessageType, message, type Message } from '../../src/raft/index.js';
import { InvalidPeerUrlError, ListenFailedError, PeerIsSelfError, PeerNotFoundError } from '../../src/transport/index.js';
import { sleep, startMember, stopAll, unusedPort, waitFor } from './harness.js';

const stalledServers: Array<{ server: Http2Server; sessions: Set<ServerHttp2Session> }> = [];

afterEach(async () => {
  await stopAll();
  for (const { server, sessions } of stalledServers.splice(0)) {
    for (const session of sessions) session.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

function heartbeat(to: number, commit: number): Message {
  return message({ type: MessageType.Heartbeat, from: 1, to, term: 2, commit });
}

/**
 * A peer that accepts the message stream like a raftkv member (cluster 7, member 2) and then never
 * reads it: HTTP/2 flow control fills up and the sender's stream pushes back.
 */
async function startStalledPeer(): Promise<number> {
  const sessions = new Set<ServerHttp2Session>();
  const server = createServer();
  server.on('session', (session) => sessions.add(session));
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'raftkv-cluster-id': '7', 'raftkv-member-id': '2' });
    stream.pause();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stalledServers.push({ server, sessions });
  return (server.address() as { port: number }).port;
}

describe('peers', () => {
  it('a peer that stops reading pushes back; its queue overflows while other peers flow', async () => {
    const a = await startMember({ memberId: 1, queueMessagesMax: 100 });
    const c = await startMember({ memberId: 3 });
    a.transport.addPeer(2, [`http://127.0.0.1:${await startStalledPeer()}`]);
    a.transport.addPeer(3, [c.url]);
    await waitFor(() => a.transport.stats()[2]!.connected && a.transport.stats()[3]!.connected, 'both streams');

    const data = new Uint8Array(1024).fill(1);
    const turns = 300;
    for (let turn = 0; turn < turns; turn++) {
      const appends = Array.from({ length: 10 }, (_, i) =>
        message({ type: MessageType.App, from: 1, to: 2, term: 2, index: turn * 10 + i, entries: [{ term: 2, index: turn * 10 + i + 1, type: EntryType.Normal, data }] }),
      );
      a.transport.send([...appends, heartbeat(3, turn)]);
      await new Promise((resolve) => setImmediate(resolve));
    }

    await waitFor(() => c.received().length === turns, 'every heartbeat to the live peer');
    expect(c.received().map((m) => m.commit)).toEqual([...Array(turns).keys()]);
    const stalled = a.transport.stats()[2]!;
    expect(stalled.connected).toBe(true);
    expect(stalled.sent).toBeLessThan(turns * 10 - 100);
    expect(stalled.dropped).toBe(turns * 10 - 100 - stalled.sent);
    expect(a.seen.unreachable).toContain(2);
    expect(a.seen.unreachable).not.toContain(3);
  });

  it('tries every URL of a peer until one answers', async () => {
    const a = await startMember({ memberId: 1 });
    const b = await startMember({ memberId: 2 });
    a.transport.addPeer(2, [`http://127.0.0.1:${await unusedPort()}`, b.url]);
    a.transport.send([heartbeat(2, 1)]);
    await waitFor(() => b.received().length === 1, 'delivery through the second URL');
  });

  it('follows a peer to its new URL, keeping what was queued', async () => {
    const a = await startMember({ memberId: 1 });
    const b = await startMember({ memberId: 2 });
    a.transport.addPeer(2, [`http://127.0.0.1:${await unusedPort()}`]);
    a.transport.send([heartbeat(2, 1)]);
    await waitFor(() => a.seen.unreachable.includes(2), 'the wrong URL to fail');
    a.transport.updatePeer(2, [b.url]);
    await waitFor(() => b.received().length === 1, 'the queued message at the new URL');
  });

  it('forgets a removed peer: nothing more is sent or reported for it', async () => {
    const a = await startMember({ memberId: 1 });
    const b = await startMember({ memberId: 2 });
    a.transport.addPeer(2, [b.url]);
    a.transport.send([heartbeat(2, 1)]);
    await waitFor(() => b.received().length === 1, 'the first message');
    a.transport.removePeer(2);
    a.transport.send([heartbeat(2, 2)]);
    await b.transport.stop();
    await sleep(100);
    expect(a.transport.stats()).toEqual({});
    expect(a.seen.unreachable).toEqual([]);
    expect(b.received()).toHaveLength(1);
    expect(() => a.transport.removePeer(2)).not.toThrow();
  });

  it('listens on several URLs, like etcd --listen-peer-urls, and reports a port in use', async () => {
    const b = await startMember({ memberId: 2 });
    const second = await b.transport.listen('http://127.0.0.1:0');
    const a = await startMember({ memberId: 1 });
    const c = await startMember({ memberId: 3 });
    a.transport.addPeer(2, [b.url]);
    c.transport.addPeer(2, [`http://127.0.0.1:${second.port}`]);
    a.transport.send([message({ type: MessageType.Heartbeat, from: 1, to: 2 })]);
    c.transport.send([message({ type: MessageType.Heartbeat, from: 3, to: 2 })]);
    await waitFor(() => b.received().length === 2, 'a message through each URL');
    expect(b.received().map((m) => m.from).sort()).toEqual([1, 3]);
    await expect(c.transport.listen(b.url)).rejects.toBeInstanceOf(ListenFailedError);
  });

  it('rejects bad peer configuration at once', async () => {
    const a = await startMember({ memberId: 1 });
    expect(() => a.transport.addPeer(1, ['http://127.0.0.1:1'])).toThrow(PeerIsSelfError);
    expect(() => a.transport.addPeer(2, ['ftp://127.0.0.1:1'])).toThrow(InvalidPeerUrlError);
    expect(() => a.transport.addPeer(2, [])).toThrow(InvalidPeerUrlError);
    expect(() => a.transport.updatePeer(9, ['http://127.0.0.1:1'])).toThrow(PeerNotFoundError);
    expect(() => a.transport.send([heartbeat(9, 1)])).not.toThrow();
  });
});
