// One raftkv member: the consensus core driven by a real clock, a real disk and real sockets.
//
// The Ready loop is the heart: take a Ready, send what may go at once, persist the rest in one
// fsync'd batch, then send acknowledgements, apply committed entries to the key-value store (one
// unsynced batch) and answer the clients waiting on them. Only one Ready is in flight; inputs
// (ticks, peer messages, proposals, reads) keep arriving meanwhile and join the next one.

import type { Logger } from 'pino';
import {
  ConfChangeType,
  decodeConfChange,
  EntryType,
  MessageType,
  ProposalDroppedError,
  RawNode,
  SeededRandom,
  StateType,
  type ConfChange,
  type Entry,
  type Ready,
  type Snapshot,
} from '../raft/index.js';
import { MvccStore, type KeyValue, type RangeResult } from '../mvcc/mvcc-store.js';
import { WatchHub } from '../mvcc/watch-hub.js';
import type { RangeSink } from '../mvcc/range-sink.js';
import { stringToKey } from '../mvcc/codec.js';
import { NO_LEASE, type LeaseId } from '../lease/lease-id.js';
import { LEASE_TTL_SECONDS_MAX, LeaseExistsError, LeaseNotFoundError, Lessor } from '../lease/lessor.js';
import { MemberLeases } from './leases.js';
import { Failpoint, Failpoints } from '../failpoints/failpoints.js';
import {
  applyDeleteRange,
  applyPut,
  applyTxn,
  inWriteTxn,
  rangeOptions,
  translateStoreError,
  type DeleteRangeOutcome,
  type TxnOutcome,
} from './apply.js';
import { requireKey, validatePut, validateTxn, txnWrites } from './validate.js';
import { readCommittedConfChange, readCommittedRequest } from './committed-entries.js';
import { AlarmAction, AlarmType, Alarms, type AlarmMember } from './alarms.js';
import type { Wal } from '../storage/index.js';
import { isValidPeerUrl, PeerTransport, transportDefaults } from '../transport/index.js';
import type { ServerConfig } from './config.js';
import { ServerError, ServerErrorCode } from './errors.js';
import { ReadIndexBatcher } from './read-index.js';
import { MemberSnapshots } from './snapshots.js';
import { SnapshotInbox } from './snapshot-inbox.js';
import { readySteps, type DiskStep, type ReadyHost } from './ready-loop.js';
import { bootstrap, checkStoreCoversSnapshot, openWal } from './startup.js';
import { initialMembership, formatId, memberIdFor } from './identity.js';
import { Membership, type MemberInfo } from './membership.js';
import {
  decodeForwardRequest,
  decodeForwardResponse,
  encodeForwardRequest,
  encodeForwardResponse,
  encodeInternalRequest,
  encodeMemberContext,
  type AlarmRequest,
  type CompactionRequest,
  type DeleteRangeRequest,
  type ForwardRequest,
  type ForwardResponse,
  type InternalRequest,
  type LeaseTimeToLive,
  type PutRequest,
  type RangeRequest,
  type TxnRequest,
} from './requests.js';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';

export interface ResponseHeader {
  readonly clusterId: number;
  readonly memberId: number;
  readonly revision: number;
  readonly raftTerm: number;
}

interface Waiter {
  resolve(result: ApplyResult): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export interface ApplyResult {
  readonly revision: number;
  /** The request could not apply (the same way on every member); the client gets this error. */
  readonly error?: Error;
  readonly prevKv?: KeyValue;
  readonly deleteRange?: DeleteRangeOutcome;
  readonly txn?: TxnOutcome;
  readonly alarms?: AlarmMember[];
}

/** A leader revokes at most this many expired leases per check (etcd: 1000 a second). */
const LEASE_REVOKES_PER_CHECK_MAX = 500;
const LEASE_CHECK_INTERVAL_MS = 500;
/** An expired lease whose revocation did not apply is proposed again after this long. */
const LEASE_REVOKE_RETRY_MS = 3000;
/** Monotonic: lease deadlines must not move with the wall clock. */
const monotonicNow = (): number => performance.now();

/** Proposals waiting for their entry to apply on this member. */
const PENDING_PROPOSALS_MAX = 100_000;
/** How often the store's size is measured for --quota-backend-bytes. */
const SIZE_CHECK_INTERVAL_MS = 1000;
/**
 * The store's writes go to disk in one unsynced batch per interval, as etcd's backend commits
 * every 100 ms: the WAL already holds every applied entry, so a member that dies replays them.
 * A batch that grows past the cap goes at once.
 */
const STORE_PERSIST_INTERVAL_MS = 100;
const STORE_PENDING_WRITES_MAX = 10_000;

export class RaftMember {
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly memberId: number;
  readonly clusterId: number;
  private readonly node: RawNode;
  private readonly wal: Wal;
  private readonly store: MvccStore;
  private readonly transport: PeerTransport;
  readonly membership: Membership;
  private readonly alarms: Alarms;
  /** The store's size on disk, refreshed about once a second for the quota check. */
  private storeBytes = 0;
  private ticksSinceSizeCheck = 0;
  private readonly waiters = new Map<number, Waiter>();
  private nextRequestId = 1;
  private readyInFlight = false;
  private readyScheduled = false;
  private stopped = false;
  private ticker: NodeJS.Timeout | null = null;
  private readonly requestTimeoutMs: number;
  private readonly reads: ReadIndexBatcher;
  private published = false;
  /** Watchers of this member's store (the API's watch streams register here). */
  readonly watchHub: WatchHub;
  private readonly leases: MemberLeases;
  /** Whether the lessor was last told this member leads. */
  private leasesLed = false;
  private ticksSinceLeaseCheck = 0;
  private readonly failpoints: Failpoints;
  /** The boot-time election tick advance is done (or not wanted). */
  private electionTicksAdvanced: boolean;
  private readonly snapshots: MemberSnapshots;
  private readonly inbox: SnapshotInbox;

  private constructor(parts: {
    config: ServerConfig; logger: Logger; memberId: number; clusterId: number; node: RawNode; wal: Wal; store: MvccStore;
    transport: PeerTransport; membership: Membership; leases: MemberLeases; watchHub: WatchHub; failpoints: Failpoints;
  }) {
    this.failpoints = parts.failpoints;
    this.electionTicksAdvanced = !parts.config.initialElectionTickAdvance;
    this.config = parts.config;
    this.logger = parts.logger;
    this.memberId = parts.memberId;
    this.clusterId = parts.clusterId;
    this.node = parts.node;
    this.wal = parts.wal;
    this.store = parts.store;
    this.transport = parts.transport;
    this.membership = parts.membership;
    this.leases = parts.leases;
    this.watchHub = parts.watchHub;
    this.alarms = new Alarms(parts.store);
    // etcd's rule: a request may take the election timeout twice over plus a margin.
    this.requestTimeoutMs = 5000 + 2 * this.config.electionTimeoutMs;
    this.reads = new ReadIndexBatcher({
      requestReadIndex: (context) => this.node.readIndex(context),
      appliedIndex: () => this.store.appliedIndex,
      schedule: () => this.schedule(),
      timeoutMs: this.requestTimeoutMs,
    });
    this.snapshots = new MemberSnapshots({
      store: this.store,
      wal: this.wal,
      logger: this.logger,
      snapshotCount: this.config.snapshotCount,
      send: (messages) => {
        this.transport.send(messages);
        this.transport.flush();
      },
      sendSnapshot: (message, body) => this.transport.sendSnapshot(message, body),
      snapshotChunkBytes: transportDefaults.snapshotChunkBytes,
      snapshotFailed: (to) => {
        this.node.reportSnapshot(to, false);
        this.schedule();
      },
      isStopped: () => this.stopped,
      onSynced: () => this.schedule(),
    });
    this.inbox = new SnapshotInbox(storeDirectoryOf(this.config), this.logger);
  }

  /** `failpoints`: test-only faults (src/failpoints); none by default. */
  static async start(config: ServerConfig, logger: Logger, failpoints: Failpoints = new Failpoints()): Promise<RaftMember> {
    const initial = initialMembership(config.initialCluster, config.initialClusterToken);
    const { members } = initial;
    const self = members.find((member) => member.name === config.name);
    if (self === undefined) throw new ServerError(ServerErrorCode.BadConfig, `--initial-cluster has no member named ${config.name}`);
    const wal = await openWal(config, initial.clusterId, self.id, logger, failpoints);
    const clusterId = wal.identity.clusterId;
    const store = await MvccStore.open(storeDirectoryOf(config), { valueCacheBytes: config.valueCacheBytes });
    await checkStoreCoversSnapshot(store, wal);
    const membership = await Membership.load(store, members);
    const leases = new MemberLeases(store, new Lessor(Math.ceil((1.5 * config.electionTimeoutMs) / 1000)), monotonicNow);
    const watchHub = new WatchHub(store);
    // A founder of a new cluster starts from the shared bootstrap snapshot; a member joining an
    // existing cluster starts empty and receives the cluster's state from the leader.
    if (wal.isNew && config.initialClusterState === 'new') await bootstrap(wal, members.map((member) => member.id));
    const electionTicks = electionTicksOf(config);
    const node = new RawNode({
      id: self.id,
      electionTicks,
      heartbeatTicks: 1,
      storage: wal.storage,
      random: new SeededRandom(randomInt(2 ** 47)),
      checkQuorum: true,
      preVote: true,
      logger: {
        debug: (object, message) => logger.debug(object, message),
        info: (object, message) => logger.info(object, message),
        warn: (object, message) => logger.warn(object, message),
      },
    });
    const transport = new PeerTransport({
      memberId: self.id,
      clusterId,
      logger,
      ...(config.peerTls === null ? {} : { tls: { ...config.peerTls, trustedCaFile: config.peerTls.trustedCaFile ?? undefined } }),
      onMessages: (messages) => member.onPeerMessages(messages),
      onUnreachable: (peerId) => member.node.reportUnreachable(peerId),
      onSnapshotStatus: (peerId, ok) => member.node.reportSnapshot(peerId, ok),
      onSnapshotStream: (header) => member.inbox.open(header),
      onForward: (_from, request) => member.answerForward(request),
      onPeerGone: (peerId) => member.onPeerGone(peerId),
      dialUrl: (url) => failpoints.map(Failpoint.PeerDialMap).get(url),
    });
    const member: RaftMember = new RaftMember({ config, logger, memberId: self.id, clusterId, node, wal, store, transport, membership, leases, watchHub, failpoints });
    for (const url of config.listenPeerUrls) await transport.listen(url);
    member.syncTransportPeers();
    member.ticker = setInterval(() => member.tick(), config.heartbeatIntervalMs);
    logger.info(
      { name: config.name, memberId: formatId(self.id), clusterId: formatId(clusterId), peerUrls: config.listenPeerUrls, clientUrls: config.advertiseClientUrls, dataDir: config.dataDir },
      'raftkv member started',
    );
    member.schedule();
    return member;
  }

  // ---- inputs -------------------------------------------------------------------------------

  private tick(): void {
    this.maybeAdvanceElectionTicks();
    this.node.tick();
    if (++this.ticksSinceSizeCheck * this.config.heartbeatIntervalMs >= SIZE_CHECK_INTERVAL_MS) {
      this.ticksSinceSizeCheck = 0;
      void this.store.approximateBytes().then((bytes) => (this.storeBytes = bytes), () => {});
    }
    this.maybePublish();
    this.syncLeaseRole();
    if (++this.ticksSinceLeaseCheck * this.config.heartbeatIntervalMs >= LEASE_CHECK_INTERVAL_MS) {
      this.ticksSinceLeaseCheck = 0;
      this.revokeExpiredLeases();
    }
    // The safety net for watchers left behind (their stream's drain normally catches them up).
    if (this.watchHub.unsyncedCount > 0) this.watchHub.catchUp();
    this.proposeFailpointEntries();
    this.schedule();
  }

  /** Test harnesses only (Failpoint.ProposeEntries): commit entries no request check has seen. */
  private proposeFailpointEntries(): void {
    for (const entry of this.failpoints.takeEntriesToPropose()) {
      try {
        if (entry.type === 'conf-change') this.node.proposeConfChange(decodeConfChange(entry.data));
        else this.node.propose(entry.data);
      } catch (error) {
        this.logger.warn({ err: error }, 'failpoint: could not propose an entry');
      }
    }
  }

  /**
   * etcd's initial election tick advance: a member that boots into a cluster without a leader
   * waits one tick, not a whole election timeout, before it campaigns — once a peer is reachable,
   * so that it does not campaign alone. With pre-vote and check-quorum, a member that boots into a
   * cluster with a leader cannot disrupt it: the others refuse its pre-vote.
   */
  private maybeAdvanceElectionTicks(): void {
    if (this.electionTicksAdvanced) return;
    const raft = this.node.raft;
    const peersReachable = Object.values(this.transport.stats()).some((peer) => peer.connected);
    if (raft.lead !== 0 || raft.tracker.voters.length <= 1) {
      this.electionTicksAdvanced = true;
      return;
    }
    if (!peersReachable) return;
    this.electionTicksAdvanced = true;
    for (let i = 0; i < electionTicksOf(this.config) - 1; i++) this.node.tick();
  }

  /**
   * The leader's process is gone (its peer port refuses connections, as after a kill -9): no need
   * to wait out its lease before electing another.
   */
  private onPeerGone(peerId: number): void {
    if (this.stopped || peerId !== this.node.raft.lead || this.isLeader()) return;
    this.node.forgetLeader();
    this.schedule();
  }

  private onPeerMessages(messages: readonly import('../raft/index.js').Message[]): void {
    if (this.stopped) return;
    for (const message of messages) this.node.step(message);
    // A staged snapshot the core did not take (stale) is dropped now, not left on disk.
    if (messages.some((message) => message.type === MessageType.Snap)) this.inbox.keepOnly(this.node.raft.log.unstable.snapshot?.data);
    this.schedule();
  }

  /** Coalesces every input of one event-loop turn into one pass of the Ready loop. */
  private schedule(): void {
    if (this.readyScheduled || this.stopped) return;
    this.readyScheduled = true;
    setImmediate(() => {
      this.readyScheduled = false;
      this.flushProposals();
      this.reads.flush();
      void this.drive();
    });
  }

  // ---- the Ready loop -----------------------------------------------------------------------

  private async drive(): Promise<void> {
    if (this.readyInFlight || this.stopped || !this.node.hasReady()) return;
    this.readyInFlight = true;
    try {
      await this.handleReady(this.node.ready());
    } catch (error) {
      this.logger.fatal({ err: error }, 'ready loop failed; stopping');
      void this.stop();
      return;
    } finally {
      this.readyInFlight = false;
    }
    if (this.removedFromCluster) {
      void this.stop().then(() => this.resolveRemoved());
      return;
    }
    this.syncLeaseRole();
    this.schedule();
  }

  private async handleReady(ready: Ready): Promise<void> {
    const steps = readySteps(ready, this.readyHost);
    for (let step = steps.next(); !step.done; step = steps.next()) {
      await this.performDiskStep(step.value);
      // A stopped member acts on nothing more: what ran so far is what a crash here would leave.
      if (this.stopped) return;
    }
    await this.maybeSnapshot();
  }

  private async performDiskStep(step: DiskStep): Promise<void> {
    if (step.kind === 'install-snapshot') {
      await this.installSnapshot(step.snapshot);
      return;
    }
    // The WAL keeps no image of a snapshot (src/server/snapshots.ts): the store holds it, installed first.
    const snapshot = step.snapshot === null ? null : MemberSnapshots.forWal(step.snapshot);
    await this.wal.save({ hardState: step.hardState, entries: step.entries, snapshot }, step.mustSync);
  }

  private readonly readyHost: ReadyHost<Map<number, ApplyResult>> = {
    send: (messages) => this.snapshots.send(messages),
    apply: (entries) => {
      const results = this.applyEntries(entries);
      if (entries.length > 0) {
        this.store.markApplied(entries[entries.length - 1].index);
        this.schedulePersist();
      }
      return results;
    },
    advance: () => this.node.advance(),
    settle: (results) => {
      for (const [requestId, result] of results) this.settle(requestId, result);
    },
    confirmReads: (readStates) => {
      for (const readState of readStates) this.reads.confirmed(readState.index, readState.context);
      this.reads.releaseApplied();
    },
  };

  /**
   * Not awaited, and batched over STORE_PERSIST_INTERVAL_MS: the entries are durable in the WAL,
   * and a crash replays them from the store's persisted index. Neither the next Ready nor the
   * clients' answers wait for this write.
   */
  private schedulePersist(): void {
    if (this.store.pendingWrites >= STORE_PENDING_WRITES_MAX) {
      this.persistStore();
      return;
    }
    if (this.persistTimer !== null) return;
    this.persistTimer = setTimeout(() => this.persistStore(), STORE_PERSIST_INTERVAL_MS);
  }

  private persistStore(): void {
    if (this.persistTimer !== null) clearTimeout(this.persistTimer);
    this.persistTimer = null;
    if (this.stopped) return;
    this.store.persist().catch((error: unknown) => this.failStore(error));
  }

  private persistTimer: NodeJS.Timeout | null = null;

  /** The store could not write: its state on disk is unknown, so this member stops. */
  private failStore(error: unknown): void {
    if (this.stopped) return;
    this.logger.fatal({ err: error }, 'the key-value store failed to write; stopping');
    void this.stop();
  }

  private async installSnapshot(snapshot: Snapshot): Promise<void> {
    // The bootstrap snapshot (index 1) carries no staged copy: the store starts empty.
    if (snapshot.data.byteLength === 0) return;
    await this.inbox.install(this.store, snapshot.data, this.failpoints.get(Failpoint.SnapshotInstallCrashAfter));
    this.membership.reload();
    this.alarms.reload();
    this.syncTransportPeers();
    this.logger.info({ index: snapshot.metadata.index, appliedIndex: this.store.appliedIndex, revision: this.store.revision }, 'installed snapshot from the leader');
  }

  /** Every --snapshot-count applied entries, once the Raft core has applied as far as the store. */
  private async maybeSnapshot(): Promise<void> {
    if (this.node.raft.log.applied < this.store.appliedIndex) return;
    await this.snapshots.maybeCreate(() => this.node.raft.tracker.confState());
  }

  private applyEntries(entries: readonly Entry[]): Map<number, ApplyResult> {
    const results = new Map<number, ApplyResult>();
    for (const entry of entries) {
      if (entry.type === EntryType.ConfChange) {
        const outcome = this.applyConfChange(entry, entry.index > this.store.appliedIndex);
        if (outcome !== null) results.set(outcome.requestId, { revision: this.store.revision, ...(outcome.error === null ? {} : { error: outcome.error }) });
        continue;
      }
      // Replayed after a restart: the store already holds it.
      if (entry.index <= this.store.appliedIndex || entry.data.byteLength === 0) continue;
      const request = readCommittedRequest(entry.data);
      if (request === null) {
        // Nobody can be answered: the proposer's id is inside the bytes that did not decode.
        this.logger.error({ index: entry.index }, 'skipped a committed entry that does not decode');
        continue;
      }
      const result = this.applyRequest(request, entry.index);
      if (request.member_id === this.memberId) results.set(request.request_id, result);
    }
    return results;
  }

  /**
   * Applies a configuration change to the core (always, also when replaying after a restart) and,
   * for a new entry, to the membership registry and the transport. A change judged unfit
   * (committed-conf-change.ts) changes neither, on every member alike. Returns the request to
   * answer when this member proposed the change.
   */
  private applyConfChange(entry: Entry, isNew: boolean): { requestId: number; error: ServerError | null } | null {
    const { change, context, error } = readCommittedConfChange(entry.data);
    const answer = isNew && context !== null && context.proposer_id === this.memberId && context.request_id !== undefined ? context.request_id : null;
    if (error !== null) {
      if (isNew) this.logger.warn({ index: entry.index, err: error }, 'refused a committed membership change');
      return answer === null ? null : { requestId: answer, error };
    }
    const confState = this.node.applyConfChange(change);
    if (!isNew) return null;
    const peerUrls = context?.peer_urls ?? [];
    if (change.type === ConfChangeType.UpdateNode) this.membership.updatePeerUrls(change.nodeId, peerUrls);
    this.membership.sync(confState, { id: change.nodeId, peerUrls });
    this.syncTransportPeers();
    this.logger.info({ change: describeChange(change), voters: confState.voters.map(formatId), learners: confState.learners.map(formatId) }, 'applied membership change');
    if (change.type === ConfChangeType.RemoveNode && change.nodeId === this.memberId) this.onRemoved();
    return answer === null ? null : { requestId: answer, error: null };
  }

  private syncTransportPeers(): void {
    const known = new Set<number>();
    for (const peer of this.membership.list()) {
      if (peer.id === this.memberId) continue;
      known.add(peer.id);
      try {
        this.transport.addPeer(peer.id, peer.peerUrls);
      } catch (error) {
        // A registry written before URLs were checked at apply may hold one the transport cannot
        // dial: that peer stays unreachable, and this member goes on serving.
        this.logger.error({ err: error, peer: formatId(peer.id), peerUrls: peer.peerUrls }, 'cannot reach a member at its peer URLs');
      }
    }
    for (const id of this.transportPeers) if (!known.has(id)) this.transport.removePeer(id);
    this.transportPeers = known;
  }

  private transportPeers = new Set<number>();

  // Declared before `removed`, whose initializer assigns it: fields initialize in order.
  private resolveRemoved!: () => void;
  /** Resolves when this member has been removed from the cluster and stopped. */
  readonly removed: Promise<void> = new Promise((resolve) => {
    this.resolveRemoved = resolve;
  });

  private onRemoved(): void {
    this.logger.warn({ memberId: formatId(this.memberId) }, 'this member was removed from the cluster; shutting down');
    // The Ready in progress finishes first: its acknowledgements matter to the others, and the
    // client that asked this very member to remove it still gets its answer. drive() then stops.
    this.removedFromCluster = true;
  }

  private removedFromCluster = false;

  private applyRequest(request: InternalRequest, index: number): ApplyResult {
    try {
      // While NOSPACE stands, nothing that adds data applies (etcd's capped applier).
      if (this.alarms.has(AlarmType.NoSpace) && (request.put !== undefined || request.lease_grant !== undefined || (request.txn !== undefined && txnWrites(request.txn)))) {
        return { revision: this.store.revision, error: noSpace() };
      }
      if (request.alarm !== undefined) return { revision: this.store.revision, alarms: this.alarms.apply(request.alarm) };
      if (request.lease_grant !== undefined) {
        // protobuf leaves a zero ID out of the entry.
        this.leases.grant(request.lease_grant.ID ?? NO_LEASE, request.lease_grant.TTL ?? 0);
        return { revision: this.store.revision };
      }
      if (request.lease_revoke !== undefined) {
        const id = request.lease_revoke.ID ?? NO_LEASE;
        inWriteTxn(this.store, (txn) => this.leases.revoke(txn, id));
        this.leases.forget(id);
        return { revision: this.store.revision };
      }
      if (request.put !== undefined) {
        const outcome = inWriteTxn(this.store, (txn) => applyPut(txn, request.put as PutRequest, this.applyContext));
        return { revision: this.store.revision, ...outcome };
      }
      if (request.delete_range !== undefined) {
        const outcome = inWriteTxn(this.store, (txn) => applyDeleteRange(txn, request.delete_range as DeleteRangeRequest));
        return { revision: this.store.revision, deleteRange: outcome };
      }
      if (request.txn !== undefined) {
        const outcome = inWriteTxn(this.store, (txn) => applyTxn(txn, request.txn as TxnRequest, this.applyContext));
        return { revision: this.store.revision, txn: outcome };
      }
      if (request.compaction !== undefined) {
        this.store.compact(request.compaction.revision);
        return { revision: this.store.revision };
      }
      if (request.publish !== undefined) {
        this.membership.setAttributes(request.publish.member_id, request.publish.name, request.publish.client_urls ?? []);
      }
      return { revision: this.store.revision };
    } catch (error) {
      const translated = translateLeaseError(translateStoreError(error));
      // A request that cannot apply fails alike on every member.
      if (translated instanceof ServerError) return { revision: this.store.revision, error: translated };
      // Anything else is a bug, but one every member meets alike on the same entry (applying
      // reads nothing but the entry and the replicated state): stopping would stop them all, and
      // again after every restart. The store's transaction was rolled back; the client is told.
      this.logger.error({ err: error, index }, 'a committed request failed to apply; answering it with an error');
      return { revision: this.store.revision, error: new ServerError(ServerErrorCode.ApplyFailed, 'etcdserver: request could not be applied', { cause: error }) };
    }
  }

  private readonly applyContext = { leaseExists: (id: LeaseId): boolean => this.leases.lessor.has(id) };

  // ---- proposals ----------------------------------------------------------------------------

  /**
   * Proposes a request through Raft and resolves once it is applied here. Requests are queued and
   * every request of one event-loop turn goes to the core as one batch (flushProposals).
   */
  private propose(request: Omit<InternalRequest, 'member_id' | 'request_id'>): Promise<ApplyResult> {
    return this.submit((requestId) => {
      const data = encodeInternalRequest({ ...request, member_id: this.memberId, request_id: requestId });
      if (data.byteLength > this.config.maxRequestBytes) throw new ServerError(ServerErrorCode.RequestTooLarge, 'etcdserver: request is too large');
      this.proposalQueue.push({ requestId, data });
    });
  }

  /** Requests waiting for the end of the turn to be proposed together. */
  private proposalQueue: Array<{ requestId: number; data: Uint8Array }> = [];

  private flushProposals(): void {
    if (this.proposalQueue.length === 0) return;
    const batch = this.proposalQueue;
    this.proposalQueue = [];
    try {
      this.node.proposeBatch(batch.map((proposal) => proposal.data));
    } catch (error) {
      if (!(error instanceof ProposalDroppedError)) throw error;
      const failure = new ServerError(ServerErrorCode.NoLeader, 'etcdserver: no leader', { cause: error });
      for (const { requestId } of batch) this.fail(requestId, failure);
    }
  }

  private fail(requestId: number, error: Error): void {
    const waiter = this.waiters.get(requestId);
    if (waiter === undefined) return;
    this.waiters.delete(requestId);
    clearTimeout(waiter.timer);
    waiter.reject(error);
  }

  /** Proposes a configuration change and resolves once it is applied here. */
  private proposeConfChange(type: ConfChange['type'], nodeId: number, peerUrls: readonly string[], isLearner: boolean): Promise<ApplyResult> {
    return this.submit((requestId) => {
      const context = encodeMemberContext({ id: nodeId, peer_urls: [...peerUrls], is_learner: isLearner, proposer_id: this.memberId, request_id: requestId });
      this.node.proposeConfChange({ type, nodeId, context });
    });
  }

  /**
   * Hands a proposal to the core under a fresh request id and waits for this member to apply it,
   * at most the request timeout. `hand` throws to refuse before anything is proposed.
   */
  private submit(hand: (requestId: number) => void): Promise<ApplyResult> {
    if (this.stopped) return Promise.reject(new ServerError(ServerErrorCode.Stopped, 'etcdserver: server stopped'));
    if (this.waiters.size >= PENDING_PROPOSALS_MAX) return Promise.reject(new ServerError(ServerErrorCode.TooManyRequests, 'etcdserver: too many requests'));
    const requestId = this.nextRequestId++;
    return new Promise<ApplyResult>((resolve, reject) => {
      try {
        hand(requestId);
      } catch (error) {
        reject(error instanceof ProposalDroppedError ? new ServerError(ServerErrorCode.NoLeader, 'etcdserver: no leader', { cause: error }) : error);
        return;
      }
      const timer = setTimeout(() => {
        this.waiters.delete(requestId);
        reject(new ServerError(ServerErrorCode.Timeout, 'etcdserver: request timed out'));
      }, this.requestTimeoutMs);
      this.waiters.set(requestId, { resolve, reject, timer });
      this.schedule();
    });
  }

  async addMember(peerUrls: readonly string[], isLearner: boolean): Promise<{ header: ResponseHeader; member: MemberInfo; members: MemberInfo[] }> {
    if (peerUrls.length === 0 || !peerUrls.every(isValidPeerUrl)) throw new ServerError(ServerErrorCode.BadMemberUrls, 'etcdserver: given member URLs are invalid');
    // The registry checked must include every change committed before this request, wherever it
    // was made: a member answers an add as soon as it has applied it, before the others have.
    await this.linearizableBarrier();
    if (this.membership.findByPeerUrl(peerUrls) !== undefined) throw new ServerError(ServerErrorCode.PeerUrlExists, 'etcdserver: Peer URLs already exists');
    // The same derivation the new member applies to its own flags, so it knows its id.
    const id = memberIdFor(peerUrls, this.config.initialClusterToken);
    const result = await this.proposeConfChange(isLearner ? ConfChangeType.AddLearnerNode : ConfChangeType.AddNode, id, peerUrls, isLearner);
    const member = this.membership.get(id) ?? { id, name: '', peerUrls: [...peerUrls], clientUrls: [], isLearner };
    return { header: this.header(result.revision), member, members: this.members() };
  }

  async removeMember(id: number): Promise<{ header: ResponseHeader; members: MemberInfo[] }> {
    if (this.membership.get(id) === undefined) throw new ServerError(ServerErrorCode.MemberNotFound, 'etcdserver: member not found');
    const result = await this.proposeConfChange(ConfChangeType.RemoveNode, id, [], false);
    return { header: this.header(result.revision), members: this.members() };
  }

  async promoteMember(id: number): Promise<{ header: ResponseHeader; members: MemberInfo[] }> {
    const member = this.membership.get(id);
    if (member === undefined) throw new ServerError(ServerErrorCode.MemberNotFound, 'etcdserver: member not found');
    if (!member.isLearner) throw new ServerError(ServerErrorCode.MemberNotLearner, 'etcdserver: can only promote a learner member');
    if (!this.learnerIsReady(id)) {
      throw new ServerError(ServerErrorCode.LearnerNotReady, 'etcdserver: can only promote a learner member which is in sync with leader');
    }
    const result = await this.proposeConfChange(ConfChangeType.AddNode, id, member.peerUrls, false);
    return { header: this.header(result.revision), members: this.members() };
  }

  async updateMember(id: number, peerUrls: readonly string[]): Promise<{ header: ResponseHeader; members: MemberInfo[] }> {
    // The URLs first, as etcd's API reads them before it looks the member up.
    if (peerUrls.length === 0 || !peerUrls.every(isValidPeerUrl)) throw new ServerError(ServerErrorCode.BadMemberUrls, 'etcdserver: given member URLs are invalid');
    if (this.membership.get(id) === undefined) throw new ServerError(ServerErrorCode.MemberNotFound, 'etcdserver: member not found');
    const result = await this.proposeConfChange(ConfChangeType.UpdateNode, id, peerUrls, this.membership.get(id)?.isLearner ?? false);
    return { header: this.header(result.revision), members: this.members() };
  }

  /**
   * As etcd: a learner may be promoted once it holds at least 90% of the leader's log. Only the
   * leader knows; elsewhere the promotion is proposed without the check.
   */
  private learnerIsReady(id: number): boolean {
    const raft = this.node.raft;
    if (raft.state !== StateType.Leader) return true;
    const progress = raft.tracker.progress.get(id);
    const leaderMatch = raft.tracker.progress.get(this.memberId)?.match ?? raft.log.lastIndex();
    return progress !== undefined && progress.match >= leaderMatch * 0.9;
  }

  private settle(requestId: number, result: ApplyResult): void {
    const waiter = this.waiters.get(requestId);
    if (waiter === undefined) return;
    this.waiters.delete(requestId);
    clearTimeout(waiter.timer);
    if (result.error !== undefined) waiter.reject(result.error);
    else waiter.resolve(result);
  }

  /**
   * etcd's quota check before a write is proposed: past --quota-backend-bytes the NOSPACE alarm is
   * raised (once) and the write refused; reads and deletes go on.
   */
  private checkQuota(requestBytes: number): void {
    if (this.alarms.has(AlarmType.NoSpace)) throw noSpace();
    if (this.storeBytes + requestBytes <= this.config.quotaBackendBytes) return;
    this.logger.warn({ storeBytes: this.storeBytes, quotaBackendBytes: this.config.quotaBackendBytes }, 'database space exceeded; raising the NOSPACE alarm');
    this.propose({ alarm: { action: AlarmAction.Activate, memberID: this.memberId, alarm: AlarmType.NoSpace } }).catch(() => {});
    throw noSpace();
  }

  async alarm(request: AlarmRequest): Promise<{ header: ResponseHeader; alarms: AlarmMember[] }> {
    if ((request.action ?? AlarmAction.Get) === AlarmAction.Get) return { header: this.header(), alarms: this.alarms.list(request.alarm ?? AlarmType.None) };
    const result = await this.propose({ alarm: request });
    return { header: this.header(result.revision), alarms: result.alarms ?? [] };
  }

  alarmDescriptions(): string[] {
    return this.alarms.describe();
  }

  async put(request: PutRequest): Promise<{ header: ResponseHeader; prevKv?: KeyValue }> {
    validatePut(request);
    this.checkQuota((request.key?.byteLength ?? 0) + (request.value?.byteLength ?? 0));
    const result = await this.propose({ put: request });
    return { header: this.header(result.revision), ...(result.prevKv === undefined ? {} : { prevKv: result.prevKv }) };
  }

  async deleteRange(request: DeleteRangeRequest): Promise<{ header: ResponseHeader } & DeleteRangeOutcome> {
    requireKey(request.key);
    const result = await this.propose({ delete_range: request });
    return { header: this.header(result.revision), ...(result.deleteRange ?? { deleted: 0, prevKvs: [] }) };
  }

  async txn(request: TxnRequest): Promise<{ header: ResponseHeader } & TxnOutcome> {
    validateTxn(request);
    if (txnWrites(request)) this.checkQuota(0);
    const result = await this.propose({ txn: request });
    return { header: this.header(result.revision), ...(result.txn ?? { succeeded: false, responses: [] }) };
  }

  async compact(request: CompactionRequest): Promise<{ header: ResponseHeader }> {
    const result = await this.propose({ compaction: request });
    return { header: this.header(result.revision) };
  }

  /** etcd's HashKV: a hash of this member's history up to `revision` (0 = now). */
  async hashKV(revision: number): Promise<{ header: ResponseHeader; hash: number; compactRevision: number; hashRevision: number }> {
    try {
      const result = await this.store.hashYielding(revision);
      return { header: this.header(result.revision), hash: result.hash, compactRevision: result.compactRevision, hashRevision: result.hashRevision };
    } catch (error) {
      throw translateStoreError(error);
    }
  }

  /** etcd's Range; with a `sink`, the kvs go to it one at a time (read and handed over in one go, after the read barrier) and the result's kvs is empty. */
  async range(request: RangeRequest, sink?: RangeSink): Promise<RangeResult & { header: ResponseHeader }> {
    requireKey(request.key);
    if (!request.serializable && !this.failpoints.enabled(Failpoint.UnsafeLocalReads)) await this.linearizableBarrier();
    try {
      const result = this.store.range(request.key, request.range_end ?? new Uint8Array(0), { ...rangeOptions(request), sink });
      return { ...result, header: this.header(result.revision) };
    } catch (error) {
      throw translateStoreError(error);
    }
  }

  /** Resolves once this member has applied everything committed before the call. */
  linearizableBarrier(): Promise<void> {
    return this.reads.barrier();
  }

  // ---- leases -------------------------------------------------------------------------------

  /** etcd's LeaseGrant: any int64 ID, 0 letting the member choose; the TTL is raised to the minimum. */
  async leaseGrant(ttlSeconds: number, requestedId: LeaseId): Promise<{ header: ResponseHeader; id: LeaseId; ttlSeconds: number }> {
    if (ttlSeconds > LEASE_TTL_SECONDS_MAX) throw new ServerError(ServerErrorCode.LeaseTtlTooLarge, 'etcdserver: too large lease TTL');
    // A chosen ID is positive and below 2^53, as before IDs became 64-bit: clients that read IDs
    // as JS numbers keep working with the IDs they did not pick.
    const id = requestedId !== NO_LEASE ? requestedId : BigInt(randomInt(1, 2 ** 47) * 64 + randomInt(64));
    const ttl = this.leases.lessor.effectiveTtl(ttlSeconds);
    const result = await this.propose({ lease_grant: { ID: id, TTL: ttl } });
    return { header: this.header(result.revision), id, ttlSeconds: ttl };
  }

  async leaseRevoke(id: LeaseId): Promise<{ header: ResponseHeader }> {
    const result = await this.propose({ lease_revoke: { ID: id } });
    return { header: this.header(result.revision) };
  }

  /** A keep-alive. Only the leader keeps deadlines, so a follower asks it. TTL 0: no such lease. */
  async leaseRenew(id: LeaseId): Promise<{ header: ResponseHeader; ttlSeconds: number }> {
    const answer = await this.askLeader({ lease_renew: { ID: id } });
    return { header: this.header(), ttlSeconds: answer.lease_renew?.TTL ?? 0 };
  }

  /** TTL -1: no such lease (expired or revoked). */
  async leaseTimeToLive(id: LeaseId, keys: boolean): Promise<{ header: ResponseHeader } & LeaseTimeToLive> {
    const answer = await this.askLeader({ lease_time_to_live: { ID: id, keys } });
    return { header: this.header(), ID: id, TTL: -1, ...answer.lease_time_to_live };
  }

  leaseIds(): LeaseId[] {
    return this.leases.lessor.ids();
  }

  /**
   * Asks whoever leads now, as etcd does: while there is no leader, or the leader cannot be reached
   * or has just stopped leading, it waits and asks again (every 50 ms) until the request timeout,
   * so a keep-alive outlives a failover.
   */
  private async askLeader(request: ForwardRequest): Promise<ForwardResponse> {
    const deadline = Date.now() + this.requestTimeoutMs;
    const encoded = encodeForwardRequest(request);
    let lastError: unknown = new ServerError(ServerErrorCode.NoLeader, 'etcdserver: no leader');
    while (Date.now() < deadline && !this.stopped) {
      const leader = this.node.raft.lead;
      try {
        if (leader === this.memberId) return await this.answerLeaseRequest(request);
        if (leader !== 0) {
          const answer = decodeForwardResponse(await this.transport.forward(leader, encoded, Math.max(1, deadline - Date.now())));
          if (answer.error_code === undefined || answer.error_code === '') return answer;
          lastError = new ServerError(answer.error_code as ServerErrorCode, answer.error_message ?? answer.error_code);
          if (answer.error_code !== ServerErrorCode.NotLeader) throw lastError;
        }
      } catch (error) {
        if (error instanceof ServerError && error.code !== ServerErrorCode.NotLeader) throw error;
        lastError = error;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (lastError instanceof ServerError && lastError.code === ServerErrorCode.NoLeader) throw lastError;
    throw new ServerError(ServerErrorCode.Timeout, 'etcdserver: request timed out', { cause: lastError });
  }

  /** Answers a peer's forwarded request (errors travel inside the answer). */
  private async answerForward(bytes: Uint8Array): Promise<Uint8Array> {
    try {
      return encodeForwardResponse(await this.answerLeaseRequest(decodeForwardRequest(bytes)));
    } catch (error) {
      const known = error instanceof ServerError ? error : new ServerError(ServerErrorCode.BadRequest, error instanceof Error ? error.message : String(error));
      return encodeForwardResponse({ error_code: known.code, error_message: known.message });
    }
  }

  private async answerLeaseRequest(request: ForwardRequest): Promise<ForwardResponse> {
    if (!this.isLeader()) throw new ServerError(ServerErrorCode.NotLeader, 'etcdserver: not leader');
    const id = request.lease_renew?.ID ?? request.lease_time_to_live?.ID ?? NO_LEASE;
    const lessor = this.leases.lessor;
    // A lease granted through another member may be committed here but not applied yet.
    if (!lessor.has(id)) await this.linearizableBarrier();
    if (request.lease_renew !== undefined) {
      try {
        return { lease_renew: { ID: id, TTL: lessor.renew(id, monotonicNow()) } };
      } catch (error) {
        if (error instanceof LeaseNotFoundError) return { lease_renew: { ID: id, TTL: 0 } };
        throw error;
      }
    }
    const lease = lessor.get(id);
    if (lease === undefined) return { lease_time_to_live: { ID: id, TTL: -1 } };
    const keys = request.lease_time_to_live?.keys ? [...lease.keys].sort().map(stringToKey) : [];
    return { lease_time_to_live: { ID: id, TTL: lessor.remainingSeconds(lease, monotonicNow()), grantedTTL: lease.ttlSeconds, keys } };
  }

  /** Tells the lessor when this member starts or stops leading: only a leader keeps deadlines. */
  private syncLeaseRole(): void {
    const leads = this.isLeader();
    if (leads === this.leasesLed) return;
    this.leasesLed = leads;
    if (leads) this.leases.lessor.promote(monotonicNow(), this.config.electionTimeoutMs);
    else this.leases.lessor.demote();
  }

  private revokeExpiredLeases(): void {
    for (const id of this.leases.lessor.expired(monotonicNow(), LEASE_REVOKES_PER_CHECK_MAX, LEASE_REVOKE_RETRY_MS)) {
      this.logger.debug({ lease: String(id) }, 'lease expired; revoking');
      this.propose({ lease_revoke: { ID: id } }).catch(() => {});
    }
  }

  hasLeader(): boolean {
    return this.node.raft.lead !== 0;
  }

  // ---- membership ---------------------------------------------------------------------------

  /** Once a leader exists, tell the cluster our name and client URLs (as etcd members do). */
  private maybePublish(): void {
    if (this.published || this.node.raft.lead === 0) return;
    const own = this.membership.get(this.memberId);
    const urls = [...this.config.advertiseClientUrls];
    if (own !== undefined && own.name === this.config.name && own.clientUrls.join(',') === urls.join(',')) {
      this.published = true;
      return;
    }
    this.published = true;
    this.propose({ publish: { member_id: this.memberId, name: this.config.name, client_urls: urls } }).catch((error: Error) => {
      this.published = false;
      this.logger.warn({ err: error }, 'publishing member attributes failed; will retry');
    });
  }

  // ---- status -------------------------------------------------------------------------------

  header(revision: number = this.store.revision): ResponseHeader {
    return { clusterId: this.clusterId, memberId: this.memberId, revision, raftTerm: this.node.raft.term };
  }

  async status(): Promise<{ leader: number; raftIndex: number; raftTerm: number; raftAppliedIndex: number; isLearner: boolean; revision: number; dbSize: number }> {
    const raft = this.node.raft;
    return {
      dbSize: await this.store.approximateBytes(),
      leader: raft.lead,
      raftIndex: raft.log.committed,
      raftTerm: raft.term,
      raftAppliedIndex: this.store.appliedIndex,
      isLearner: raft.isLearner,
      revision: this.store.revision,
    };
  }

  /**
   * Before a leader stops, it hands leadership to the most up-to-date voter so the cluster does not
   * wait out an election timeout. Gives up after one election timeout.
   */
  async transferLeadershipAway(): Promise<void> {
    const raft = this.node.raft;
    if (raft.state !== StateType.Leader) return;
    let transferee = 0;
    let bestMatch = -1;
    for (const id of raft.tracker.voters) {
      const progress = raft.tracker.progress.get(id);
      if (id !== this.memberId && progress !== undefined && progress.match > bestMatch) {
        transferee = id;
        bestMatch = progress.match;
      }
    }
    if (transferee === 0) return;
    this.logger.info({ transferee: formatId(transferee) }, 'transferring leadership before stopping');
    await this.transferLeadership(transferee, this.config.electionTimeoutMs);
  }

  /** Starts a transfer and waits up to `timeoutMs` for `transferee` to lead; true if it does. */
  private async transferLeadership(transferee: number, timeoutMs: number): Promise<boolean> {
    this.node.transferLeadership(transferee);
    this.schedule();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.node.raft.lead !== transferee && !this.stopped) await new Promise((resolve) => setTimeout(resolve, 10));
    return this.node.raft.lead === transferee;
  }

  /** etcd's MoveLeader: only the leader moves leadership, and only to a voter. */
  async moveLeader(targetId: number): Promise<{ header: ResponseHeader }> {
    if (!this.isLeader()) throw new ServerError(ServerErrorCode.NotLeader, 'etcdserver: not leader');
    if (!this.node.raft.tracker.voters.includes(targetId)) throw new ServerError(ServerErrorCode.BadLeaderTransferee, 'etcdserver: bad leader transferee');
    if (targetId !== this.memberId && !(await this.transferLeadership(targetId, 2 * this.config.electionTimeoutMs))) {
      throw new ServerError(ServerErrorCode.Timeout, 'etcdserver: request timed out, leader transfer took too long');
    }
    return { header: this.header() };
  }

  isLeader(): boolean {
    return this.node.raft.state === StateType.Leader;
  }

  members(): MemberInfo[] {
    return this.membership.list();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ticker !== null) clearInterval(this.ticker);
    for (const [, waiter] of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new ServerError(ServerErrorCode.Stopped, 'etcdserver: server stopped'));
    }
    this.waiters.clear();
    // Let an in-flight Ready finish its write before closing the databases under it.
    while (this.readyInFlight) await new Promise((resolve) => setTimeout(resolve, 5));
    await this.transport.stop();
    await this.inbox.close();
    if (this.persistTimer !== null) clearTimeout(this.persistTimer);
    // What the store still holds back goes to disk, so a clean restart replays nothing.
    await this.store.persist().catch((error: unknown) => this.logger.warn({ err: error }, 'could not write the store on stop'));
    await this.store.close();
    await this.wal.close();
  }
}

/** Where the member's key-value store lives; staged snapshot copies go beside it. */
function storeDirectoryOf(config: ServerConfig): string {
  return join(config.dataDir, 'member', 'kv');
}

/** The election timeout in ticks (one tick per heartbeat interval). */
function electionTicksOf(config: ServerConfig): number {
  return Math.max(2, Math.round(config.electionTimeoutMs / config.heartbeatIntervalMs));
}

function translateLeaseError(error: unknown): unknown {
  if (error instanceof LeaseNotFoundError) return new ServerError(ServerErrorCode.LeaseNotFound, error.message, { cause: error });
  if (error instanceof LeaseExistsError) return new ServerError(ServerErrorCode.LeaseExists, error.message, { cause: error });
  return error;
}

function noSpace(): ServerError {
  return new ServerError(ServerErrorCode.NoSpace, 'etcdserver: mvcc: database space exceeded');
}

function describeChange(change: ConfChange): string {
  const names: Record<number, string> = { 0: 'add-voter', 1: 'remove', 2: 'update', 3: 'add-learner' };
  return `${names[change.type]} ${formatId(change.nodeId)}`;
}

