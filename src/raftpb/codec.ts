// Encodes the consensus core's plain data to and from the protobuf form in proto/raftpb.proto.
// The one place that knows both: the WAL and the peer transport both go through it.

import { join } from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_ROOT } from '../grpc/proto-root.js';
import type { ConfState, Entry, EntryType, HardState, Message, MessageType, Snapshot } from '../raft/index.js';

const PROTO_PATH = join(PROTO_ROOT, 'raftpb.proto');

const root = protobuf.loadSync(PROTO_PATH);
const EntryProto = root.lookupType('raftkv.raftpb.Entry');
const HardStateProto = root.lookupType('raftkv.raftpb.HardState');
const SnapshotProto = root.lookupType('raftkv.raftpb.Snapshot');
const MessageBatchProto = root.lookupType('raftkv.raftpb.MessageBatch');

const EMPTY = new Uint8Array(0);

/** protobufjs hands back uint64 as Long unless asked: every field here fits in a double. */
const TO_OBJECT = { longs: Number, defaults: true, arrays: true } as const;

interface EntryWire { term: number; index: number; type: number; data: Uint8Array }
interface ConfStateWire { voters: number[]; learners: number[] }
interface SnapshotWire { data: Uint8Array; metadata: { confState: ConfStateWire; index: number; term: number } | null }
interface MessageWire {
  type: number; to: number; from: number; term: number; logTerm: number; index: number; entries: EntryWire[];
  commit: number; snapshot: SnapshotWire | null; reject: boolean; rejectHint: number; context: Uint8Array;
  readRound: number; transfer: boolean;
}

function entryFromWire(wire: EntryWire): Entry {
  // A copy: the decoder hands out views into the whole received frame, and an entry kept in the
  // log would keep its entire frame (up to megabytes, shared with other entries) alive.
  return { term: wire.term, index: wire.index, type: wire.type as EntryType, data: wire.data === undefined || wire.data === null ? EMPTY : new Uint8Array(wire.data) };
}

function confStateFromWire(wire: ConfStateWire | null | undefined): ConfState {
  return { voters: wire?.voters ?? [], learners: wire?.learners ?? [] };
}

function snapshotToWire(snapshot: Snapshot): SnapshotWire {
  const { index, term, confState } = snapshot.metadata;
  return { data: snapshot.data, metadata: { index, term, confState: { voters: [...confState.voters], learners: [...confState.learners] } } };
}

function snapshotFromWire(wire: SnapshotWire): Snapshot {
  return {
    data: wire.data ?? EMPTY,
    metadata: { index: wire.metadata?.index ?? 0, term: wire.metadata?.term ?? 0, confState: confStateFromWire(wire.metadata?.confState) },
  };
}

export function encodeEntry(entry: Entry): Uint8Array {
  return EntryProto.encode(EntryProto.fromObject(entry)).finish();
}

export function decodeEntry(bytes: Uint8Array): Entry {
  return entryFromWire(EntryProto.toObject(EntryProto.decode(bytes), TO_OBJECT) as EntryWire);
}

export function encodeHardState(hardState: HardState): Uint8Array {
  return HardStateProto.encode(HardStateProto.fromObject(hardState)).finish();
}

export function decodeHardState(bytes: Uint8Array): HardState {
  const wire = HardStateProto.toObject(HardStateProto.decode(bytes), TO_OBJECT) as HardState;
  return { term: wire.term, vote: wire.vote, commit: wire.commit };
}

export function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  return SnapshotProto.encode(SnapshotProto.fromObject(snapshotToWire(snapshot))).finish();
}

export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  return snapshotFromWire(SnapshotProto.toObject(SnapshotProto.decode(bytes), TO_OBJECT) as SnapshotWire);
}

function messageToWire(message: Message): object {
  return { ...message, snapshot: message.snapshot === null ? null : snapshotToWire(message.snapshot) };
}

function messageFromWire(wire: MessageWire): Message {
  return {
    type: wire.type as MessageType,
    to: wire.to,
    from: wire.from,
    term: wire.term,
    logTerm: wire.logTerm,
    index: wire.index,
    entries: wire.entries.map(entryFromWire),
    commit: wire.commit,
    reject: wire.reject,
    rejectHint: wire.rejectHint,
    // proto3 cannot tell an absent message from an empty one; an empty snapshot is never sent.
    snapshot: wire.snapshot === null || wire.snapshot.metadata === null ? null : snapshotFromWire(wire.snapshot),
    context: wire.context ?? EMPTY,
    readRound: wire.readRound,
    transfer: wire.transfer,
  };
}

export function encodeMessageBatch(messages: readonly Message[]): Uint8Array {
  return MessageBatchProto.encode(MessageBatchProto.fromObject({ messages: messages.map(messageToWire) })).finish();
}

export function decodeMessageBatch(bytes: Uint8Array): Message[] {
  const wire = MessageBatchProto.toObject(MessageBatchProto.decode(bytes), { ...TO_OBJECT, defaults: true }) as { messages: MessageWire[] };
  return wire.messages.map(messageFromWire);
}
