// Shared by the transport tests: transports on 127.0.0.1 that record what their callbacks see,
// stopped after each test, and small helpers to wait for asynchronous outcomes.

import { createServer } from 'node:net';
import type { Message } from '../../src/raft/index.js';
import { PeerTransport, type SnapshotMessage, type SnapshotSink, type TransportOptions } from '../../src/transport/index.js';

export interface Recorder {
  readonly batches: Message[][];
  readonly unreachable: number[];
  readonly snapshotStatuses: Array<{ peer: number; ok: boolean }>;
  readonly warnings: string[];
}

export interface TestMember {
  readonly transport: PeerTransport;
  readonly port: number;
  readonly url: string;
  readonly seen: Recorder;
  /** Every inbound message, in arrival order. */
  received(): Message[];
}

export type MemberOptions = Partial<Omit<TransportOptions, 'onMessages' | 'onUnreachable' | 'onSnapshotStatus'>> & { memberId: number };

const running = new Set<PeerTransport>();

/** A test's sink: the body collected in memory (small bodies only) and handed on in the MsgSnap's data. */
export function memorySink(header: SnapshotMessage): SnapshotSink {
  const chunks: Buffer[] = [];
  return {
    write: async (chunk) => {
      chunks.push(Buffer.from(chunk));
    },
    finish: async () => ({ ...header, snapshot: { ...header.snapshot, data: Buffer.concat(chunks) } }),
    abort: async () => {
      chunks.length = 0;
    },
  };
}

function recordingOptions(options: MemberOptions, seen: Recorder): TransportOptions {
  return {
    clusterId: 7,
    reconnectDelayMs: { initial: 20, max: 200 },
    logger: { debug() {}, info() {}, warn: (_fields, message) => seen.warnings.push(message) },
    onSnapshotStream: memorySink,
    ...options,
    onMessages: (messages) => seen.batches.push(messages),
    onUnreachable: (peer) => seen.unreachable.push(peer),
    onSnapshotStatus: (peer, ok) => seen.snapshotStatuses.push({ peer, ok }),
  };
}

/** A transport listening on `port` (0: any free port), stopped by `stopAll`. */
export async function startMember(options: MemberOptions, port = 0, scheme: 'http' | 'https' = 'http'): Promise<TestMember> {
  const seen: Recorder = { batches: [], unreachable: [], snapshotStatuses: [], warnings: [] };
  const transport = new PeerTransport(recordingOptions(options, seen));
  running.add(transport);
  const bound = await transport.listen(`${scheme}://127.0.0.1:${port}`);
  return { transport, port: bound.port, url: `${scheme}://127.0.0.1:${bound.port}`, seen, received: () => seen.batches.flat() };
}

/** A transport that never listens (a pure client), stopped by `stopAll`. */
export function clientOnly(options: MemberOptions): { transport: PeerTransport; seen: Recorder } {
  const seen: Recorder = { batches: [], unreachable: [], snapshotStatuses: [], warnings: [] };
  const transport = new PeerTransport(recordingOptions(options, seen));
  running.add(transport);
  return { transport, seen };
}

export async function stopAll(): Promise<void> {
  const transports = [...running];
  running.clear();
  await Promise.all(transports.map((transport) => transport.stop()));
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port nothing listens on: bound once by the OS, then released. */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Bytes become arrays, so Buffers from the decoder compare equal to the Uint8Arrays sent. */
export function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plain(inner)]));
  return value;
}
