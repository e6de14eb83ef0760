// A peer's outbound queue: bounded in messages, drained in batches that each fit in one gRPC frame.

import type { Message } from '../raft/index.js';

// Upper bounds of protobuf overhead: a field tag plus a 10-byte varint for each number, a length
// prefix for each bytes field and for the message inside the batch. Estimating instead of
// encoding keeps each message encoded once, inside its batch.
const MESSAGE_OVERHEAD_BYTES = 128;
const ENTRY_OVERHEAD_BYTES = 48;

/** An upper bound of a message's encoded size inside a MessageBatch (snapshots travel separately). */
export function estimateMessageBytes(message: Message): number {
  let bytes = MESSAGE_OVERHEAD_BYTES + message.context.byteLength;
  for (const entry of message.entries) bytes += ENTRY_OVERHEAD_BYTES + entry.data.byteLength;
  return bytes;
}

export type OfferOutcome = 'queued' | 'queue-full' | 'too-large';

export class MessageQueue {
  private messages: Message[] = [];
  /** When each message was queued (ms), parallel to `messages`. */
  private queuedAtMs: number[] = [];
  /** Index of the oldest message; the array is compacted lazily, so taking from the front is O(1). */
  private head = 0;

  constructor(
    private readonly messagesMax: number,
    private readonly frameBytesMax: number,
  ) {}

  get length(): number {
    return this.messages.length - this.head;
  }

  /** Appends a message unless the queue is full (the newest is dropped: order stays gap-free at the front). */
  offer(message: Message, nowMs = 0): OfferOutcome {
    if (estimateMessageBytes(message) > this.frameBytesMax) return 'too-large';
    if (this.length >= this.messagesMax) return 'queue-full';
    this.messages.push(message);
    this.queuedAtMs.push(nowMs);
    return 'queued';
  }

  /** Drops the messages queued before `cutoffMs` (they are at the front); returns how many. */
  dropQueuedBefore(cutoffMs: number): number {
    const start = this.head;
    while (this.head < this.messages.length && this.queuedAtMs[this.head]! < cutoffMs) this.head++;
    const dropped = this.head - start;
    this.compact();
    return dropped;
  }

  /** Removes the oldest messages that fit together in one frame, in order; empty when the queue is. */
  takeBatch(): Message[] {
    let end = this.head;
    let bytes = 0;
    while (end < this.messages.length) {
      bytes += estimateMessageBytes(this.messages[end]!);
      if (bytes > this.frameBytesMax && end > this.head) break;
      end++;
    }
    const batch = this.messages.slice(this.head, end);
    this.head = end;
    this.compact();
    return batch;
  }

  clear(): void {
    this.messages = [];
    this.queuedAtMs = [];
    this.head = 0;
  }

  private compact(): void {
    if (this.head === this.messages.length) this.clear();
    else if (this.head > 1024 && this.head * 2 > this.messages.length) {
      this.messages = this.messages.slice(this.head);
      this.queuedAtMs = this.queuedAtMs.slice(this.head);
      this.head = 0;
    }
  }
}
