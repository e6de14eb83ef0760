// The one client every workload uses, for etcd and raftkv alike: gRPC channels built from our own
// etcd protos (src/api/protos.ts: snake_case fields, int64 as numbers, bytes as Buffers).

import { credentials, type Client, type ClientDuplexStream } from '@grpc/grpc-js';
import { services } from '../src/api/protos.js';
import { ClusterWithExactIds, MaintenanceWithExactIds, type ExactStatusIds } from './exact-ids.js';

type ServiceName = keyof typeof services;

/** Each channel its own TCP connection (no shared subchannel pool), and quick reconnects after a member restarts. */
const CHANNEL_OPTIONS = {
  'grpc.use_local_subchannel_pool': 1,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
};

export const DEFAULT_CALL_TIMEOUT_MS = 10_000;
export const DEFAULT_CHANNEL_COUNT = 6;

// etcdserverpb.Compare: result EQUAL, target MOD.
const COMPARE_EQUAL = 0;
const COMPARE_TARGET_MOD = 2;

export interface KeyValue {
  key: Buffer;
  value: Buffer;
  create_revision: number;
  mod_revision: number;
  version: number;
}

export interface ResponseHeader {
  member_id: number;
  revision: number;
  raft_term: number;
}

export interface RangeResponse {
  header: ResponseHeader;
  kvs: KeyValue[];
  count: number;
}

export interface PutResponse {
  header: ResponseHeader;
}

export interface TxnResponse {
  header: ResponseHeader;
  succeeded: boolean;
}

/** Compare members by `memberId` and `leaderId`: `header.member_id` and `leader` are rounded (see exact-ids.ts). */
export interface StatusResponse extends ExactStatusIds {
  header: ResponseHeader;
  raftIndex: number;
  raftAppliedIndex: number;
}

type UnaryMethod = (request: object, options: object, callback: (error: Error | null, response: unknown) => void) => void;

/** One gRPC channel (one connection) to one endpoint, with a client of every etcd service on it. */
export class EtcdChannel {
  readonly endpoint: string;
  private readonly clients: Record<ServiceName, Client>;

  constructor(endpoint: string, extraOptions: Record<string, number> = {}) {
    this.endpoint = endpoint;
    const kv = new services.KV(endpoint, credentials.createInsecure(), { ...CHANNEL_OPTIONS, ...extraOptions });
    const onSameChannel = { channelOverride: kv.getChannel() };
    this.clients = {
      KV: kv,
      Watch: new services.Watch(endpoint, credentials.createInsecure(), onSameChannel),
      Lease: new services.Lease(endpoint, credentials.createInsecure(), onSameChannel),
      Cluster: new ClusterWithExactIds(endpoint, credentials.createInsecure(), onSameChannel),
      Maintenance: new MaintenanceWithExactIds(endpoint, credentials.createInsecure(), onSameChannel),
    };
  }

  /** A unary call with a deadline, as a promise. */
  call<T>(service: ServiceName, method: string, request: object, timeoutMs = DEFAULT_CALL_TIMEOUT_MS): Promise<T> {
    const client = this.clients[service];
    const fn = (client as unknown as Record<string, UnaryMethod>)[method];
    if (typeof fn !== 'function') throw new Error(`${service} has no method ${method}`);
    return new Promise((resolve, reject) => {
      fn.call(client, request, { deadline: Date.now() + timeoutMs }, (error, response) => (error ? reject(error) : resolve(response as T)));
    });
  }

  put(key: string, value: Buffer, timeoutMs?: number): Promise<PutResponse> {
    return this.call('KV', 'Put', { key: Buffer.from(key), value }, timeoutMs);
  }

  get(key: string, serializable = false, timeoutMs?: number): Promise<RangeResponse> {
    return this.call('KV', 'Range', { key: Buffer.from(key), serializable }, timeoutMs);
  }

  /**
   * A control plane's optimistic update: put `value` only if the key's mod_revision is still
   * `modRevision` (0 for a key that does not exist), else get the key.
   */
  compareAndSwap(key: Buffer, modRevision: number, value: Buffer, timeoutMs?: number): Promise<TxnResponse> {
    return this.call('KV', 'Txn', {
      compare: [{ result: COMPARE_EQUAL, target: COMPARE_TARGET_MOD, key, mod_revision: modRevision }],
      success: [{ request_put: { key, value } }],
      failure: [{ request_range: { key } }],
    }, timeoutMs);
  }

  status(timeoutMs?: number): Promise<StatusResponse> {
    return this.call('Maintenance', 'Status', {}, timeoutMs);
  }

  /**
   * Cluster.MemberAdd; the new member's id exactly, as a decimal string (etcd's ids are 64-bit).
   */
  async memberAdd(peerUrls: readonly string[], isLearner: boolean, timeoutMs?: number): Promise<string> {
    const response = await this.call<{ addedMemberId: string }>('Cluster', 'MemberAdd', { peerURLs: [...peerUrls], isLearner }, timeoutMs);
    return response.addedMemberId;
  }

  /** Cluster.MemberRemove by an exact id (a decimal string encodes as the full 64 bits). */
  async memberRemove(memberId: string, timeoutMs?: number): Promise<void> {
    await this.call('Cluster', 'MemberRemove', { ID: memberId }, timeoutMs);
  }

  /** A bidirectional Watch stream on this channel. */
  watchStream(): ClientDuplexStream<object, any> {
    return (this.clients.Watch as unknown as { Watch(): ClientDuplexStream<object, any> }).Watch();
  }

  close(): void {
    // Every service client shares the KV client's channel; closing it closes them all.
    this.clients.KV.close();
  }
}

/**
 * A small pool of channels spread over the endpoints (channel i goes to endpoint i mod n), handed
 * out round-robin so concurrent requests share a few connections as a real client's would; plus
 * one channel of its own per endpoint for calls that must reach a given member.
 */
export class BenchClient {
  readonly endpoints: readonly string[];
  private readonly pool: EtcdChannel[];
  private readonly direct = new Map<string, EtcdChannel>();
  private nextIndex = 0;

  private readonly channelOptions: Record<string, number>;

  constructor(endpoints: readonly string[], channelCount = DEFAULT_CHANNEL_COUNT, channelOptions: Record<string, number> = {}) {
    if (endpoints.length === 0) throw new Error('no endpoints');
    this.endpoints = endpoints;
    this.channelOptions = channelOptions;
    const count = Math.max(channelCount, endpoints.length);
    this.pool = Array.from({ length: count }, (_, i) => new EtcdChannel(endpoints[i % endpoints.length], channelOptions));
  }

  next(): EtcdChannel {
    const channel = this.pool[this.nextIndex];
    this.nextIndex = (this.nextIndex + 1) % this.pool.length;
    return channel;
  }

  to(endpoint: string): EtcdChannel {
    let channel = this.direct.get(endpoint);
    if (channel === undefined) {
      channel = new EtcdChannel(endpoint, this.channelOptions);
      this.direct.set(endpoint, channel);
    }
    return channel;
  }

  close(): void {
    for (const channel of [...this.pool, ...this.direct.values()]) channel.close();
    this.direct.clear();
  }
}

/** The end of a prefix's range, as etcdctl computes it: the prefix with its last byte plus one. */
export function prefixRangeEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1]++;
  return end;
}
