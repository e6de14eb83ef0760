// The member's peer transport: routes each outbound Raft message to its peer's queue (or, for a
// MsgSnap, its own snapshot stream) and serves inbound streams. Never blocks, never throws for a
// peer that is down: Raft tolerates lost messages and learns of trouble through onUnreachable.

import { isLocalMessage, MessageType, type Message } from '../raft/index.js';
import { PeerCredentials } from './credentials.js';
import { InvalidPeerUrlError } from '../grpc/errors.js';
import { parsePeerUrl, type PeerAddress } from '../grpc/peer-url.js';
import { PeerIsSelfError, PeerNotFoundError, TransportStoppedError } from './errors.js';
import { identify, type PeerIdentity } from './identify.js';
import { ThrottledWarnings } from './log.js';
import { resolveSettings, type IdentifyOptions, type TransportOptions, type TransportSettings } from './options.js';
import { Peer, type PeerContext, type PeerStats } from './peer.js';
import { PeerServer } from './server.js';
import { bytesSource, type SnapshotMessage, type SnapshotSource } from './snapshot-stream.js';

export class PeerTransport {
  /**
   * Asks existing members which cluster they form, before this member creates its transport (etcd's
   * `--initial-cluster-state existing`): tries each peer URL in turn, each within `timeoutMs`
   * (2 s by default), with the same TLS handling as peer streams, and returns the first answer.
   * Throws IdentifyFailedError, listing every URL tried, when none answers.
   */
  static identify(urls: readonly string[], options?: IdentifyOptions): Promise<PeerIdentity> {
    return identify(urls, options);
  }

  private readonly settings: TransportSettings;
  private readonly credentials: PeerCredentials;
  private readonly warnings: ThrottledWarnings;
  private readonly peerContext: PeerContext;
  private readonly peers = new Map<number, Peer>();
  private server: PeerServer | null = null;
  private stopped = false;

  /** Validates the options and reads the TLS files; throws on either. */
  constructor(private readonly options: TransportOptions) {
    this.settings = resolveSettings(options);
    this.credentials = new PeerCredentials(options.tls);
    this.warnings = new ThrottledWarnings(this.settings.logger);
    this.peerContext = {
      settings: this.settings,
      credentials: this.credentials,
      warnings: this.warnings,
      onUnreachable: (peerId) => this.notify('onUnreachable', () => this.options.onUnreachable(peerId)),
      onSnapshotStatus: (peerId, ok) => this.notify('onSnapshotStatus', () => this.options.onSnapshotStatus(peerId, ok)),
      onPeerGone: (peerId) => this.notify('onPeerGone', () => this.options.onPeerGone?.(peerId)),
    };
  }

  /**
   * Serves peers on `url` (http, or https with `tls`); call once per listen URL. Port 0 picks a
   * free port; the real one is returned.
   */
  async listen(url: string): Promise<{ port: number }> {
    if (this.stopped) throw new TransportStoppedError();
    const address = parsePeerUrl(url);
    const credentials = this.credentials.forServer(address);
    if (this.credentials.ignoredFor(address)) {
      this.settings.logger.warn({ url }, 'peer TLS is configured but the listen URL is http: serving plaintext');
    }
    this.server ??= new PeerServer(
      this.settings,
      (messages) => this.deliver(messages),
      this.warnings,
      (from, request) => this.answerForward(from, request),
      this.options.onSnapshotStream,
      (from) => this.peerDialedIn(from),
    );
    const port = await this.server.bind(address.target, credentials);
    if (this.stopped) throw new TransportStoppedError();
    this.settings.logger.info({ url, port }, 'listening for peers');
    return { port };
  }

  /** Starts connecting to a peer. Adding a known peer again just updates its URLs (as a replayed conf change would). */
  addPeer(id: number, urls: readonly string[]): void {
    if (this.stopped) throw new TransportStoppedError();
    if (id === this.settings.memberId) throw new PeerIsSelfError(id);
    const addresses = this.parsePeerUrls(urls);
    const existing = this.peers.get(id);
    if (existing !== undefined) {
      existing.updateAddresses(addresses);
      return;
    }
    this.peers.set(id, new Peer(id, addresses, this.peerContext));
    this.settings.logger.info({ peer: id, urls }, 'peer added');
  }

  updatePeer(id: number, urls: readonly string[]): void {
    if (this.stopped) throw new TransportStoppedError();
    const peer = this.peers.get(id);
    if (peer === undefined) throw new PeerNotFoundError(id);
    peer.updateAddresses(this.parsePeerUrls(urls));
    this.settings.logger.info({ peer: id, urls }, 'peer updated');
  }

  /** Forgets a peer and drops what was queued for it. Removing an unknown peer does nothing. */
  removePeer(id: number): void {
    const peer = this.peers.get(id);
    if (peer === undefined) return;
    peer.close();
    this.peers.delete(id);
    this.settings.logger.info({ peer: id }, 'peer removed');
  }

  /**
   * Queues messages for their peers and returns at once; what cannot be sent is dropped and logged.
   * What is queued leaves at the end of the event-loop turn, every send() of the turn in one batch
   * per peer, unless flush() sends it sooner.
   */
  send(messages: readonly Message[]): void {
    if (this.stopped) return;
    for (const message of messages) this.route(message);
  }

  /**
   * Streams a MsgSnap to its peer with the body `source` yields, on a call of its own, reading the
   * source only as the call has room. The outcome goes to onSnapshotStatus; the source is closed
   * whatever happens (at once when the peer is unknown or the transport stopped).
   */
  sendSnapshot(message: SnapshotMessage, source: SnapshotSource): void {
    const peer = this.stopped ? undefined : this.peers.get(message.to);
    if (peer === undefined) {
      source.close();
      if (!this.stopped) {
        this.warnings.warn(`unknown:${message.to}`, { peer: message.to, type: message.type }, 'dropping snapshot for unknown peer');
        this.notify('onSnapshotStatus', () => this.options.onSnapshotStatus(message.to, false));
      }
      return;
    }
    peer.sendSnapshot(message, source);
  }

  /**
   * Writes what every peer has queued now rather than at the end of the turn, for a caller that has
   * queued a whole batch and has more work before its turn ends: the member, after each Ready's
   * messages, so they do not wait behind its disk write, apply loop and client responses.
   */
  flush(): void {
    if (this.stopped) return;
    for (const peer of this.peers.values()) peer.flushNow();
  }

  /**
   * Sends an opaque request to a peer's `onForward` and resolves to its answer; rejects with the
   * gRPC error when the peer is unknown, unreachable or slower than `timeoutMs`.
   */
  forward(peerId: number, request: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    if (this.stopped) return Promise.reject(new TransportStoppedError());
    const peer = this.peers.get(peerId);
    if (peer === undefined) return Promise.reject(new PeerNotFoundError(peerId));
    return peer.forward(request, timeoutMs);
  }

  private answerForward(from: number, request: Uint8Array): Promise<Uint8Array> {
    if (this.stopped || this.options.onForward === undefined) return Promise.reject(new TransportStoppedError());
    return this.options.onForward(from, request);
  }

  stats(): Record<number, PeerStats> {
    const stats: Record<number, PeerStats> = {};
    for (const [id, peer] of this.peers) stats[id] = peer.stats();
    return stats;
  }

  /** Closes every stream and the listener. Callbacks stop firing; the transport cannot be reused. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    this.server?.stop();
    this.server = null;
    // Let grpc-js run the cancellations it just queued before the caller, say, rebinds the port.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /** A peer's advertised URLs, each dialed where `dialUrls` says (a test's proxy) or as it is. */
  private parsePeerUrls(urls: readonly string[]): PeerAddress[] {
    if (urls.length === 0) throw new InvalidPeerUrlError('', 'a peer needs at least one URL');
    return urls.map((url) => parsePeerUrl(this.options.dialUrl?.(url) ?? url));
  }

  private route(message: Message): void {
    if (isLocalMessage(message.type)) {
      this.warnings.warn(`local:${message.type}`, { type: message.type }, 'not sending a local message');
      return;
    }
    const peer = this.peers.get(message.to);
    if (peer === undefined) {
      this.warnings.warn(`unknown:${message.to}`, { peer: message.to, type: message.type }, 'dropping message for unknown peer');
      return;
    }
    if (message.type === MessageType.Snap) {
      if (hasSnapshot(message)) {
        // Data already in memory (small, or a test's) travels as the body, like any other.
        const header = { ...message, snapshot: { ...message.snapshot, data: new Uint8Array(0) } };
        peer.sendSnapshot(header, bytesSource(message.snapshot.data, this.settings.snapshotChunkBytes));
      }
      else this.warnings.warn(`snap-without-snapshot:${message.to}`, { peer: message.to }, 'dropping MsgSnap without a snapshot');
      return;
    }
    peer.enqueue(message);
  }

  /** A peer that dials in is up: our stream to it, if down, is dialed now, not after the backoff. */
  private peerDialedIn(from: number): void {
    if (this.stopped) return;
    this.peers.get(from)?.peerDialedIn();
  }

  private deliver(messages: Message[]): void {
    if (this.stopped || messages.length === 0) return;
    this.notify('onMessages', () => this.options.onMessages(messages));
  }

  /** A throwing callback is the member's bug; it must not tear down a gRPC stream or timer. */
  private notify(callback: string, invoke: () => void): void {
    if (this.stopped) return;
    try {
      invoke();
    } catch (error) {
      this.warnings.warn(`callback:${callback}`, { callback, error: error instanceof Error ? error.message : String(error) }, 'transport callback threw');
    }
  }
}

function hasSnapshot(message: Message): message is SnapshotMessage {
  return message.snapshot !== null;
}


