// Plain data shared by the consensus core and whoever drives it. Nothing here does work.
//
// Node ids are JavaScript numbers in [1, 2^53): every such value is also a valid etcd uint64
// member id, and plain numbers keep the hot paths free of bigint arithmetic.

/** The id that means "nobody" (no leader, no vote). */
export const NONE = 0;

export const MessageType = {
  /** Local: start an election now. */
  Hup: 0,
  /** Local: the leader should broadcast heartbeats. */
  Beat: 1,
  /** A proposal: local, or forwarded by a follower to the leader. */
  Prop: 2,
  App: 3,
  AppResp: 4,
  Vote: 5,
  VoteResp: 6,
  PreVote: 7,
  PreVoteResp: 8,
  Snap: 9,
  Heartbeat: 10,
  HeartbeatResp: 11,
  /** Local: the transport could not reach `from`. */
  Unreachable: 12,
  /** Local: the transport finished (or failed) sending a snapshot to `from`. */
  SnapStatus: 13,
  /** Local: the leader should verify it still hears from a quorum. */
  CheckQuorum: 14,
  /** Ask the leader to hand leadership to `from` (the transferee, as in etcd-io/raft). */
  TransferLeader: 15,
  /** Leader to transferee: campaign now, ignoring the election timer. */
  TimeoutNow: 16,
  ReadIndex: 17,
  ReadIndexResp: 18,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

export const messageTypeName: Record<MessageType, string> = Object.fromEntries(
  Object.entries(MessageType).map(([name, value]) => [value, name]),
) as Record<MessageType, string>;

export const EntryType = {
  Normal: 0,
  ConfChange: 1,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

export interface HardState {
  readonly term: number;
  readonly vote: number;
  readonly commit: number;
}

export interface ConfState {
  readonly voters: readonly number[];
  readonly learners: readonly number[];
}

export interface SnapshotMetadata {
  readonly index: number;
  readonly term: number;
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly metadata: SnapshotMetadata;
  /** The application's state machine image; opaque to the core. */
  readonly data: Uint8Array;
}

export interface Message {
  readonly type: MessageType;
  readonly to: number;
  readonly from: number;
  readonly term: number;
  /** App: term of the entry at `index`. Vote: term of the candidate's last entry. Reject: term at `rejectHint`. */
  readonly logTerm: number;
  /** App: index of the entry before `entries`. Vote: candidate's last index. AppResp: last matched index. */
  readonly index: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
  readonly reject: boolean;
  readonly rejectHint: number;
  readonly snapshot: Snapshot | null;
  /** ReadIndex / ReadIndexResp: the caller's request context, echoed back untouched. */
  readonly context: Uint8Array;
  /** Heartbeat / HeartbeatResp: the ReadIndex round this heartbeat confirms (0 = none). */
  readonly readRound: number;
  /** Vote / PreVote: sent because of a leadership transfer, so leader leases do not apply. */
  readonly transfer: boolean;
}

const EMPTY_BYTES = new Uint8Array(0);

/** Builds a message with every field present; unspecified fields take their zero value. */
export function message(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    to: NONE,
    from: NONE,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    snapshot: null,
    context: EMPTY_BYTES,
    readRound: 0,
    transfer: false,
    ...fields,
  };
}

export function emptySnapshot(): Snapshot {
  return { metadata: { index: 0, term: 0, confState: { voters: [], learners: [] } }, data: EMPTY_BYTES };
}

export function isEmptySnapshot(snapshot: Snapshot | null): boolean {
  return snapshot === null || snapshot.metadata.index === 0;
}

export const emptyHardState: HardState = { term: 0, vote: NONE, commit: 0 };

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** Messages that only ever travel inside one member, never over the network. */
export function isLocalMessage(type: MessageType): boolean {
  return (
    type === MessageType.Hup ||
    type === MessageType.Beat ||
    type === MessageType.Unreachable ||
    type === MessageType.SnapStatus ||
    type === MessageType.CheckQuorum
  );
}

/** Responses that a member may only send once the state they report is durable. */
export function mustWaitForPersist(type: MessageType): boolean {
  return type === MessageType.AppResp || type === MessageType.Vote || type === MessageType.VoteResp;
}

export const StateType = {
  Follower: 0,
  PreCandidate: 1,
  Candidate: 2,
  Leader: 3,
} as const;
export type StateType = (typeof StateType)[keyof typeof StateType];

export const stateTypeName: Record<StateType, string> = {
  0: 'follower',
  1: 'pre-candidate',
  2: 'candidate',
  3: 'leader',
};

export interface ReadState {
  /** The commit index at the moment the read was confirmed; serve once applied reaches it. */
  readonly index: number;
  readonly context: Uint8Array;
}

export function entryBytes(entry: Entry): number {
  // A fixed overhead per entry keeps empty entries from being free when batching by size.
  return entry.data.byteLength + 16;
}
