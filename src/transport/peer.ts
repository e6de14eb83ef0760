// One remote member, seen from here: its bounded queue, its long-lived message stream, its
// reconnects and its snapshot streams. Peers share nothing, so a slow or dead one delays no other.

import { Client, type ClientWritableStream, type Metadata, type ServiceError } from '@grpc/grpc-js';
import type { Message } from '../raft/index.js';
import { Backoff } from './backoff.js';
import type { PeerCredentials } from './credentials.js';
import type { PeerAddress } from '../grpc/peer-url.js';
import { ClusterIdMismatchError, MemberIdMismatchError, MessageTooLargeError } from './errors.js';
import { channelOptions } from './grpc-options.js';
import type { ThrottledWarnings } from './log.js';
import { estimateMessageBytes, MessageQueue } from './message-queue.js';
import type { TransportSettings } from './options.js';
import { forwardMethod, messageStreamMethod, readAcceptance, streamMetadata, type SnapshotFrame, type StreamHeader } from './service.js';
import { streamSnapshot, type SnapshotMessage, type SnapshotSource } from './snapshot-stream.js';
import { peerCells, type PeerCells } from '../metrics/index.js';
import { RoundTripProber } from './round-trip-prober.js';

/** What a peer needs from its transport. */
export interface PeerContext {
  readonly settings: TransportSettings;
  readonly credentials: PeerCredentials;
  readonly warnings: ThrottledWarnings;
  onUnreachable(peerId: number): void;
  onSnapshotStatus(peerId: number, ok: boolean): void;
  /** Nothing listens at the peer's address (connection refused): its process is gone. */
  onPeerGone(peerId: number): void;
}

export interface PeerStats {
  /** Messages handed to an accepted stream (not a delivery receipt: a stream may still fail). */
  sent: number;
  /** Messages dropped because the queue was full or a message could not fit in a frame. */
  dropped: number;
  connected: boolean;
}

type MessageStream = ClientWritableStream<readonly Message[]>;

export class Peer {
  private addresses: readonly PeerAddress[];
  private addressIndex = 0;
  private readonly clients = new Map<string, Client>();
  private readonly queue: MessageQueue;
  private readonly backoff: Backoff;
  private stream: MessageStream | null = null;
  /** The server accepted `stream`; until then messages wait in the queue. */
  private connected = false;
  private waitingForDrain = false;
  private flushScheduled = false;
  private dropsToReport = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** The peer dialed in while our own attempt was in flight: if that attempt fails, dial again at once. */
  private dialedInDuringAttempt = false;
  private readonly snapshotCalls = new Set<ClientWritableStream<SnapshotFrame>>();
  private closed = false;
  private sent = 0;
  private dropped = 0;
  /** This link's etcd_network_* series (metrics room), found once. */
  private readonly cells: PeerCells;
  private readonly prober: RoundTripProber;
  /** Counts each batch's bytes as grpc-js serializes it for the message stream. */
  private readonly serializeCounted: (batch: readonly Message[]) => Buffer;

  constructor(
    readonly id: number,
    addresses: readonly PeerAddress[],
    private readonly context: PeerContext,
  ) {
    this.addresses = addresses;
    this.queue = new MessageQueue(context.settings.queueMessagesMax, context.settings.frameBytesMax);
    this.backoff = new Backoff(context.settings.reconnectDelayMs.initial, context.settings.reconnectDelayMs.max);
    this.cells = peerCells(context.settings.memberId, id);
    const serialize = messageStreamMethod.requestSerialize;
    const sentBytes = this.cells.sentBytes;
    this.serializeCounted = (batch) => {
      const bytes = serialize(batch);
      sentBytes.value += bytes.byteLength;
      return bytes;
    };
    this.prober = new RoundTripProber(() => this.clientFor(this.currentAddress()), this.cells.observeRoundTrip);
    this.prober.start();
    // Connect at once: the stream is ready before the first message, and a dead peer is noticed.
    this.openStream();
  }

  /** Queues a message; everything queued in one event-loop turn leaves as one batch. */
  enqueue(message: Message): void {
    const outcome = this.queue.offer(message, performance.now());
    if (outcome === 'too-large') {
      const error = new MessageTooLargeError(estimateMessageBytes(message), this.context.settings.frameBytesMax);
      this.recordDrop(error.code, error.message);
    } else if (outcome === 'queue-full') {
      this.recordDrop('queue-full', `queue holds queueMessagesMax=${this.context.settings.queueMessagesMax} messages`);
    }
    this.scheduleFlush();
  }

  /** Streams a MsgSnap with its body from `source` on a call of its own; the outcome goes to onSnapshotStatus. */
  sendSnapshot(message: SnapshotMessage, source: SnapshotSource): void {
    if (this.closed) {
      source.close();
      return;
    }
    const address = this.currentAddress();
    // The body's bytes count as sent to the peer as they are read for the call (as etcd counts a snapshot's).
    const sentBytes = this.cells.sentBytes;
    const counted: SnapshotSource = {
      read: async () => {
        const chunk = await source.read();
        if (chunk !== null) sentBytes.value += chunk.byteLength;
        return chunk;
      },
      close: () => source.close(),
    };
    const call = streamSnapshot(this.clientFor(address), message, counted, this.streamHeader(), (error) => {
      this.snapshotCalls.delete(call);
      if (this.closed) return;
      if (error === null) {
        this.logger().info({ peer: this.id, index: message.snapshot.metadata.index }, 'snapshot sent');
      } else {
        const details = (error as Partial<ServiceError>).details ?? error.message;
        this.context.warnings.warn(`snapshot:${this.id}`, { peer: this.id, url: address.url, code: (error as Partial<ServiceError>).code, details }, 'snapshot send failed');
        this.context.onUnreachable(this.id);
      }
      this.context.onSnapshotStatus(this.id, error === null);
    });
    this.snapshotCalls.add(call);
  }

  /** Switches to new URLs at once, keeping the queue. */
  updateAddresses(addresses: readonly PeerAddress[]): void {
    this.addresses = addresses;
    this.addressIndex = 0;
    this.abandonStream();
    this.closeClients();
    this.backoff.reset();
    this.openStream();
  }

  /**
   * The peer just opened a message stream to us, so it is up and listening. If our stream to it is
   * down, dial now rather than when the backoff says: a member started a moment after MemberAdd (or
   * restarted) would otherwise wait out delays that grew while it was starting, up to
   * reconnectDelayMs.max, before its leader's first heartbeat or snapshot reaches it (etcd has no
   * such wait: there the receiver opens the streams). The dial uses a fresh channel, since gRPC's
   * own connection backoff would fail it at once. An attempt already in flight is left to finish;
   * if it fails, the next one starts at once instead of after the backoff.
   */
  peerDialedIn(): void {
    if (this.closed || this.connected) return;
    if (this.stream !== null) {
      this.dialedInDuringAttempt = true;
      return;
    }
    this.redialNow();
  }

  stats(): PeerStats {
    return { sent: this.sent, dropped: this.dropped, connected: this.connected };
  }

  /** Stops everything; callbacks for this peer stop too (in-flight snapshots report nothing). */
  close(): void {
    this.closed = true;
    this.prober.stop();
    this.abandonStream();
    for (const call of this.snapshotCalls) call.cancel();
    this.snapshotCalls.clear();
    this.closeClients();
    this.queue.clear();
  }

  private openStream(): void {
    if (this.closed) return;
    const address = this.currentAddress();
    const { path, responseDeserialize } = messageStreamMethod;
    const metadata = streamMetadata(this.streamHeader());
    const stream: MessageStream = this.clientFor(address).makeClientStreamRequest(path, this.serializeCounted, responseDeserialize, metadata, {}, (error) =>
      this.onStreamEnded(stream, address, error),
    );
    stream.on('metadata', (response: Metadata) => this.onStreamAccepted(stream, address, response));
    stream.on('drain', () => {
      if (stream !== this.stream) return;
      this.waitingForDrain = false;
      this.flush();
    });
    this.stream = stream;
  }

  private onStreamAccepted(stream: MessageStream, address: PeerAddress, response: Metadata): void {
    if (stream !== this.stream) return;
    // No acceptance headers: this is a refusal, and its status follows.
    const acceptance = readAcceptance(response);
    if (acceptance === null) return;
    const { clusterId } = this.context.settings;
    const mismatch =
      acceptance.clusterId !== clusterId
        ? new ClusterIdMismatchError(clusterId, acceptance.clusterId)
        : acceptance.memberId !== this.id
          ? new MemberIdMismatchError(this.id, acceptance.memberId)
          : null;
    if (mismatch !== null) {
      this.context.warnings.warn(`mismatch:${this.id}`, { peer: this.id, url: address.url, code: mismatch.code }, mismatch.message);
      stream.cancel();
      return;
    }
    this.connected = true;
    this.dialedInDuringAttempt = false;
    this.backoff.reset();
    this.context.warnings.reset(`down:${this.id}`);
    this.logger().info({ peer: this.id, url: address.url }, 'peer stream connected');
    this.prober.probe();
    this.flush();
  }

  /** Any end of the message stream is a failure: it is meant to live as long as the peer. */
  private onStreamEnded(stream: MessageStream, address: PeerAddress, error: ServiceError | null): void {
    if (stream !== this.stream) return;
    const wasConnected = this.connected;
    this.resetStreamState();
    if (this.closed) return;
    // A failed attempt to reach the peer is a send failure (etcd counts each failed send), and a
    // lost stream a disconnection; the messages it held count as they are dropped (recordDrop).
    this.cells.sentFailures.value += 1;
    if (wasConnected) this.cells.disconnected.value += 1;
    this.context.warnings.warn(
      `down:${this.id}`,
      { peer: this.id, url: address.url, code: error?.code, details: error?.details ?? 'stream ended' },
      wasConnected ? 'lost the stream to peer' : 'cannot reach peer',
    );
    this.context.onUnreachable(this.id);
    if (error?.details?.includes('ECONNREFUSED') === true) this.context.onPeerGone(this.id);
    this.addressIndex = (this.addressIndex + 1) % this.addresses.length;
    if (this.dialedInDuringAttempt) this.redialNow();
    else this.scheduleReconnect();
  }

  /** Dials at once on a fresh channel, with the backoff reset: the peer is known to be up. */
  private redialNow(): void {
    this.dialedInDuringAttempt = false;
    this.abandonStream();
    // A snapshot call in flight shares the channel (and proves it works): keep it then.
    if (this.snapshotCalls.size === 0) this.closeClients();
    this.backoff.reset();
    this.openStream();
  }

  private scheduleReconnect(): void {
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.openStream();
    }, this.backoff.next());
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    // setImmediate, not a microtask: it runs after every send() of this turn, including those
    // made from promise continuations, so they all share one batch.
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.closed) return;
      this.flush();
      this.reportDrops();
    });
  }

  /** Writes what is queued without waiting for the end of the turn (see PeerTransport.flush). */
  flushNow(): void {
    if (this.closed || this.queue.length === 0) return;
    this.flush();
    this.reportDrops();
  }

  /** Writes queued batches until the queue is empty or the stream pushes back. */
  private flush(): void {
    const stream = this.stream;
    if (stream === null || !this.connected || this.waitingForDrain) return;
    // What waited out a dead stream for long is stale: Raft has resent what matters, and a late
    // forwarded proposal would commit long after its client gave up (etcd drops such messages).
    const stale = this.queue.dropQueuedBefore(performance.now() - this.context.settings.queuedMessageMaxAgeMs);
    if (stale > 0) this.recordDrop('stale', `${stale} messages waited longer than ${this.context.settings.queuedMessageMaxAgeMs} ms for the stream`, stale);
    while (this.queue.length > 0) {
      const batch = this.queue.takeBatch();
      this.sent += batch.length;
      if (!stream.write(batch)) {
        this.waitingForDrain = true;
        return;
      }
    }
  }

  private recordDrop(reason: string, detail: string, count = 1): void {
    this.dropped += count;
    this.cells.sentFailures.value += count;
    this.dropsToReport = true;
    this.context.warnings.warn(`drop:${this.id}:${reason}`, { peer: this.id, reason, detail, dropped: this.dropped }, 'dropping messages for peer');
  }

  /** A peer that cannot keep up is reported unreachable once per turn, not once per dropped message. */
  private reportDrops(): void {
    if (!this.dropsToReport) return;
    this.dropsToReport = false;
    this.context.onUnreachable(this.id);
  }

  private abandonStream(): void {
    const stream = this.stream;
    this.resetStreamState();
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    stream?.cancel();
  }

  /** One unary Forward call to this peer, with the stream header every call carries. */
  forward(request: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const client = this.clientFor(this.currentAddress());
    const { path, requestSerialize, responseDeserialize } = forwardMethod;
    return new Promise((resolve, reject) => {
      client.makeUnaryRequest(path, requestSerialize, responseDeserialize, request, streamMetadata(this.streamHeader()), { deadline: Date.now() + timeoutMs }, (error, response) =>
        error || response === undefined ? reject(error ?? new Error('empty Forward response')) : resolve(response),
      );
    });
  }

  private resetStreamState(): void {
    this.stream = null;
    this.connected = false;
    this.waitingForDrain = false;
  }

  private currentAddress(): PeerAddress {
    return this.addresses[this.addressIndex % this.addresses.length]!;
  }

  private clientFor(address: PeerAddress): Client {
    let client = this.clients.get(address.url);
    if (client === undefined) {
      client = new Client(address.target, this.context.credentials.forChannel(address), channelOptions(this.context.settings));
      this.clients.set(address.url, client);
    }
    return client;
  }

  private closeClients(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private streamHeader(): StreamHeader {
    return { clusterId: this.context.settings.clusterId, from: this.context.settings.memberId, to: this.id };
  }

  private logger(): TransportSettings['logger'] {
    return this.context.settings.logger;
  }
}
