// WatchResponses with events, encoded once per event rather than once per watcher.
//
// A revision under a prefix that 1,000 watchers watch goes out as 1,000 responses that differ only
// in watch_id. Encoding each through proto-loader (fromObject, then encode) cost most of a member's
// time in a fan-out. Protobuf lets a message be the concatenation of its fields' encodings, in any
// order, a repeated field once per element, so a response is built from pieces: the header (the
// same for every watcher of the revision), the watch_id, and each event's `events` field, encoded
// once per event and prev_kv choice and shared by every watcher that gets it. A watcher that
// catches up from history gets new Event objects for the same changes, so the cache is keyed by
// what identifies a change (type, key, mod revision), and holds the most recent
// EVENT_ENCODINGS_MAX of them.
//
// The Watch service's response serializer passes such a Buffer through unchanged (see
// acceptPreEncodedWatchResponses); everything else it encodes as before.

import type { ServiceDefinition } from '@grpc/grpc-js';
import { header, keyValue } from './handlers.js';
import type { Event, ResponseHeader } from '../server/servers.js';

type Serialize = (value: object) => Buffer;

/** Encoded events kept for reuse: enough for every watcher's catch-up of a few busy revisions. */
const EVENT_ENCODINGS_MAX = 4096;

const plainEncoders = new WeakMap<object, Serialize>();

/** Makes the Watch service's responses accept pre-encoded Buffers (once); returns the plain encoder. */
export function acceptPreEncodedWatchResponses(service: ServiceDefinition): Serialize {
  const method = service.Watch as unknown as { responseSerialize: Serialize };
  let encode = plainEncoders.get(method);
  if (encode === undefined) {
    const plain = method.responseSerialize;
    encode = plain;
    method.responseSerialize = (value: object) => (Buffer.isBuffer(value) ? value : plain(value));
    plainEncoders.set(method, plain);
  }
  return encode;
}

export class WatchResponseEncoder {
  private readonly encode: Serialize;
  /** Each event's `events` field by change and prev_kv choice, oldest first (Map order). */
  private readonly eventFields = new Map<string, Buffer>();
  private lastHeader: { key: string; bytes: Buffer } | null = null;

  constructor(encode: Serialize) {
    this.encode = encode;
  }

  /** A whole WatchResponse carrying `events` for the watcher `watchId`. */
  response(responseHeader: ResponseHeader, watchId: number, events: readonly Event[], withPrevKv: boolean): Buffer {
    // etcd writes no watch_id 0 (the default); protobufjs writes any field that is set.
    const pieces = [this.headerField(responseHeader), ...(watchId === 0 ? [] : [this.encode({ watch_id: watchId })])];
    for (const event of events) pieces.push(this.eventField(event, withPrevKv));
    return Buffer.concat(pieces);
  }

  /** Every watcher of a revision gets the same header: encoded once while it stays the same. */
  private headerField(responseHeader: ResponseHeader): Buffer {
    const { clusterId, memberId, revision, raftTerm } = responseHeader;
    const key = `${clusterId}/${memberId}/${revision}/${raftTerm}`;
    if (this.lastHeader?.key !== key) this.lastHeader = { key, bytes: this.encode({ header: header(responseHeader) }) };
    return this.lastHeader.bytes;
  }

  private eventField(event: Event, withPrevKv: boolean): Buffer {
    // One key is written at most once per revision, so (type, revision, key) names the change.
    const { kv } = event;
    const name = `${event.type === 'put' ? 'p' : 'd'}${withPrevKv ? '+' : '-'}${kv.modRevision}/${Buffer.from(kv.key.buffer, kv.key.byteOffset, kv.key.byteLength).toString('latin1')}`;
    let bytes = this.eventFields.get(name);
    if (bytes === undefined) {
      bytes = this.encode({ events: [eventMessage(event, withPrevKv)] });
      if (this.eventFields.size >= EVENT_ENCODINGS_MAX) this.eventFields.delete(this.eventFields.keys().next().value as string);
      this.eventFields.set(name, bytes);
    }
    return bytes;
  }
}

export function eventMessage(event: Event, withPrevKv: boolean): object {
  // A put is type 0, the default, which etcd leaves out.
  const message: { type?: number; kv: object; prev_kv?: object } = event.type === 'put' ? { kv: keyValue(event.kv) } : { type: 1, kv: keyValue(event.kv) };
  if (withPrevKv && event.prevKv !== undefined) message.prev_kv = keyValue(event.prevKv);
  return message;
}
