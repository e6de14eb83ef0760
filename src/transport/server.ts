// The listening side: accepts message and snapshot streams from peers of this cluster addressed to
// this member, and hands what arrives to the local node. It also tells anyone who asks which
// cluster and member it is (Identify), unchecked: a joining member does not know the cluster id yet.

import { Server, type Metadata, type sendUnaryData, type ServerCredentials, type ServerReadableStream, type ServerUnaryCall } from '@grpc/grpc-js';
import { serveStreamsAfterClientGoaway } from '../grpc/client-goaway.js';
import { setGrpcHttp2ServerOptions } from '../grpc/grpc-internals.js';
import type { Message } from '../raft/index.js';
import { PEER_STREAM_WINDOW_BYTES, widenConnectionWindows } from './flow-control.js';
import { ListenFailedError, TransportError } from './errors.js';
import { serverOptions } from './grpc-options.js';
import type { ThrottledWarnings } from './log.js';
import type { TransportSettings } from './options.js';
import {
  ACK,
  acceptanceMetadata,
  checkStreamHeader,
  claimedSender,
  deserializeMessageBatch,
  messageStreamMethod,
  raftService,
  readStreamHeader,
  toServiceError,
  type Ack,
  type Empty,
  type Identity,
  type SnapshotFrame,
  type StreamHeader,
} from './service.js';
import { receiveSnapshot, type SnapshotMessage, type SnapshotSink } from './snapshot-stream.js';
import { SnapshotsNotAcceptedError } from './errors.js';
import { peerReceivedCell } from '../metrics/index.js';

/** A batch off a peer's message stream, with its size on the wire (etcd_network_peer_received_bytes_total). */
interface ReceivedBatch {
  readonly messages: Message[];
  readonly byteLength: number;
}

/** The service as this side serves it: message batches arrive with their byte counts. */
const servedRaftService = {
  ...raftService,
  messageStream: { ...messageStreamMethod, requestDeserialize: (bytes: Buffer): ReceivedBatch => ({ messages: deserializeMessageBatch(bytes), byteLength: bytes.byteLength }) },
};

export class PeerServer {
  private readonly server: Server;

  constructor(
    private readonly settings: TransportSettings,
    private readonly deliver: (messages: Message[]) => void,
    private readonly warnings: ThrottledWarnings,
    private readonly answer: (from: number, request: Uint8Array) => Promise<Uint8Array>,
    private readonly openSnapshotSink: ((header: SnapshotMessage) => SnapshotSink) | undefined,
    /** A peer opened a message stream to this member: it is up (see Peer.peerDialedIn). */
    private readonly onPeerDialedIn: (from: number) => void,
  ) {
    this.server = new Server(serverOptions(settings));
    // A peer's stream may have this much in flight before this member reads it (HTTP/2's default
    // is 64 KiB, a round trip per 64 KiB of a snapshot: about 45 MB/s here).
    setGrpcHttp2ServerOptions(this.server, { settings: { initialWindowSize: PEER_STREAM_WINDOW_BYTES } });
    this.server.addService(servedRaftService, {
      messageStream: (call: ServerReadableStream<ReceivedBatch, Ack>, callback: sendUnaryData<Ack>) => this.acceptMessageStream(call, callback),
      snapshotStream: (call: ServerReadableStream<SnapshotFrame, Ack>, callback: sendUnaryData<Ack>) => this.acceptSnapshotStream(call, callback),
      identify: (_call: ServerUnaryCall<Empty, Identity>, callback: sendUnaryData<Identity>) =>
        callback(null, { clusterId: this.settings.clusterId, memberId: this.settings.memberId }),
      forward: (call: ServerUnaryCall<Uint8Array, Uint8Array>, callback: sendUnaryData<Uint8Array>) => this.acceptForward(call, callback),
    });
  }

  /** Resolves to the bound port (the real one when `target` asks for port 0). */
  bind(target: string, credentials: ServerCredentials): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(target, credentials, (error, port) => {
        if (error) return reject(new ListenFailedError(target, error));
        serveStreamsAfterClientGoaway(this.server);
        widenConnectionWindows(this.server);
        resolve(port);
      });
    });
  }

  /** Closes the listener and every inbound stream at once: peers see their streams fail and reconnect. */
  stop(): void {
    this.server.forceShutdown();
  }

  private acceptMessageStream(call: ServerReadableStream<ReceivedBatch, Ack>, callback: sendUnaryData<Ack>): void {
    const header = this.admit(call.metadata, callback);
    if (header === null) return;
    call.sendMetadata(acceptanceMetadata(this.settings));
    this.onPeerDialedIn(header.from);
    const receivedBytes = peerReceivedCell(header.from);
    call.on('data', (batch: ReceivedBatch) => {
      receivedBytes.value += batch.byteLength;
      this.deliver(batch.messages);
    });
    call.on('end', () => callback(null, ACK));
    call.on('error', (error: Error) => this.settings.logger.debug({ peer: header.from, error: error.message }, 'inbound message stream failed'));
  }

  private acceptSnapshotStream(call: ServerReadableStream<SnapshotFrame, Ack>, callback: sendUnaryData<Ack>): void {
    const header = this.admit(call.metadata, callback);
    if (header === null) return;
    const openSink = this.openSnapshotSink;
    if (openSink === undefined) {
      this.refuse(header.from, new SnapshotsNotAcceptedError(), callback);
      return;
    }
    // The body's bytes count as received from the peer as they are written to the sink.
    const receivedBytes = peerReceivedCell(header.from);
    const openCountedSink = (message: SnapshotMessage): SnapshotSink => {
      const sink = openSink(message);
      return {
        write: (chunk) => {
          receivedBytes.value += chunk.byteLength;
          return sink.write(chunk);
        },
        finish: () => sink.finish(),
        abort: () => sink.abort(),
      };
    };
    receiveSnapshot(call, openCountedSink, this.settings.snapshotBytesMax).then(
      (message) => {
        // Handed to the node before the ack: the sender reports success only for a delivered snapshot.
        this.deliver([message]);
        callback(null, ACK);
      },
      (error: unknown) => this.refuse(header.from, error, callback),
    );
  }

  private acceptForward(call: ServerUnaryCall<Uint8Array, Uint8Array>, callback: sendUnaryData<Uint8Array>): void {
    const header = this.admit(call.metadata, callback);
    if (header === null) return;
    this.answer(header.from, call.request).then(
      (response) => callback(null, response),
      (error: unknown) => callback(toServiceError(error)),
    );
  }

  /** The stream's header, if the stream is for this member of this cluster; otherwise refuses it. */
  private admit(metadata: Metadata, callback: sendUnaryData<never>): StreamHeader | null {
    try {
      const header = readStreamHeader(metadata);
      checkStreamHeader(header, this.settings);
      return header;
    } catch (error) {
      this.refuse(claimedSender(metadata), error, callback);
      return null;
    }
  }

  private refuse(from: number | string, error: unknown, callback: sendUnaryData<never>): void {
    const code = error instanceof TransportError ? error.code : 'internal';
    const message = error instanceof Error ? error.message : String(error);
    this.warnings.warn(`refused:${from}:${code}`, { peer: from, code }, `refused inbound stream: ${message}`);
    callback(toServiceError(error));
  }
}
