// One raftkv member: the consensus core driven by a real clock, a real disk and real sockets.
// This class wires the parts (a file each: the table in docs/ARCHITECTURE.md, "The member"),
// ticks, and drives the Ready loop in ready-loop.ts's order. Only one Ready is in flight; inputs
// (ticks, peer messages, proposals, reads) keep arriving meanwhile and join the next one.

import type { Logger } from 'pino';
import { decodeConfChange, MessageType, RawNode, SeededRandom, StateType, type Message, type Ready, type SoftState, type Snapshot } from '../raft/index.js';
import { MvccStore } from '../mvcc/mvcc-store.js';
import { WatchHub } from '../mvcc/watch-hub.js';
import { Lessor } from '../lease/lessor.js';
import { Failpoint, Failpoints } from '../failpoints/failpoints.js';
import type { Wal } from '../storage/index.js';
import { PeerTransport, transportDefaults } from '../transport/index.js';
import { Alarms } from './alarms.js';
import { ClusterAdmin } from './cluster-admin.js';
import type { ServerConfig } from './config.js';
import { EntryApplier, type ApplyResult } from './entry-applier.js';
import { ServerError, ServerErrorCode } from './errors.js';
import { formatId, initialMembership } from './identity.js';
import { KvFront } from './kv-front.js';
import { LeaseFront, monotonicNow } from './lease-front.js';
import { Leadership } from './leadership.js';
import { StorePacer } from './store-pacer.js';
import { MemberLeases } from './leases.js';
import { Membership } from './membership.js';
import { MemberMetrics } from './member-metrics.js';
import type { FrontBasics, MemberBasics } from './parts.js';
import { Proposals } from './proposals.js';
import { ReadIndexBatcher } from './read-index.js';
import { readySteps, type DiskStep, type ReadyHost } from './ready-loop.js';
import { watchServerOf, type MaintenanceServer, type MemberServers, type MemberStatus, type ResponseHeader } from './servers.js';
import { SnapshotInbox } from './snapshot-inbox.js';
import { MemberSnapshots } from './snapshots.js';
import { bootstrap, checkStoreCoversSnapshot, openWal } from './startup.js';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';

export type { ResponseHeader } from './servers.js';
export type { ApplyResult } from './entry-applier.js';

const LEASE_CHECK_INTERVAL_MS = 500;
/** How often the store's size is measured for --quota-backend-bytes. */
const SIZE_CHECK_INTERVAL_MS = 1000;

interface MemberParts {
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly memberId: number;
  readonly clusterId: number;
  readonly node: RawNode;
  readonly wal: Wal;
  readonly store: MvccStore;
  readonly transport: PeerTransport;
  readonly membership: Membership;
  readonly leases: MemberLeases;
  readonly failpoints: Failpoints;
}

export class RaftMember {
  readonly config: ServerConfig;
  readonly logger: Logger;
  readonly memberId: number;
  readonly clusterId: number;
  private readonly node: RawNode;
  private readonly wal: Wal;
  private readonly store: MvccStore;
  private readonly transport: PeerTransport;
  private readonly membership: Membership;
  private readonly alarms: Alarms;
  private readonly failpoints: Failpoints;
  private readonly watchHub: WatchHub;
  private readonly proposals: Proposals;
  private readonly applier: EntryApplier;
  private readonly reads: ReadIndexBatcher;
  private readonly kv: KvFront;
  private readonly leaseFront: LeaseFront;
  private readonly admin: ClusterAdmin;
  private readonly leadership: Leadership;
  private readonly pacer: StorePacer;
  private readonly snapshots: MemberSnapshots;
  private readonly inbox: SnapshotInbox;
  private readonly metrics: MemberMetrics;
  /** What the API serves from this member (servers.ts). */
  readonly servers: MemberServers;
  private readyInFlight = false;
  private readyScheduled = false;
  private stopped = false;
  private removedFromCluster = false;
  private ticker: NodeJS.Timeout | null = null;
  private ticksSinceSizeCheck = 0;
  private ticksSinceLeaseCheck = 0;
  /** The boot-time election tick advance is done (or not wanted). */
  private electionTicksAdvanced: boolean;
  private transportPeers = new Set<number>();
  // Declared before `removed`, whose initializer assigns it: fields initialize in order.
  private resolveRemoved!: () => void;
  /** Resolves when this member has been removed from the cluster and stopped. */
  readonly removed: Promise<void> = new Promise((resolve) => {
    this.resolveRemoved = resolve;
  });

  private constructor(parts: MemberParts) {
    const { config, logger, memberId, node, store, membership, leases } = parts;
    this.config = config;
    this.logger = logger;
    this.memberId = memberId;
    this.clusterId = parts.clusterId;
    this.node = node;
    this.wal = parts.wal;
    this.store = store;
    this.transport = parts.transport;
    this.membership = membership;
    this.failpoints = parts.failpoints;
    this.electionTicksAdvanced = !config.initialElectionTickAdvance;
    this.alarms = new Alarms(store);
    this.watchHub = new WatchHub(store);
    // etcd's rule: a request may take the election timeout twice over plus a margin.
    const requestTimeoutMs = 5000 + 2 * config.electionTimeoutMs;
    const header = (revision?: number): ResponseHeader => this.header(revision);
    const linearizableBarrier = (): Promise<void> => this.reads.barrier();
    const isStopped = (): boolean => this.stopped;
    this.proposals = new Proposals({ memberId, node, maxRequestBytes: config.maxRequestBytes, requestTimeoutMs, schedule: () => this.schedule() });
    this.reads = new ReadIndexBatcher({
      requestReadIndex: (context) => node.readIndex(context),
      appliedIndex: () => store.appliedIndex,
      schedule: () => this.schedule(),
      timeoutMs: requestTimeoutMs,
    });
    const basics: MemberBasics = { memberId, logger, node };
    this.applier = new EntryApplier({
      ...basics, store, alarms: this.alarms, leases, membership,
      membershipChanged: () => this.syncTransportPeers(),
      removed: () => this.onRemoved(),
    });
    const front: FrontBasics = { ...basics, proposals: this.proposals, header, linearizableBarrier };
    this.kv = new KvFront({ ...front, store, alarms: this.alarms, failpoints: parts.failpoints, quotaBackendBytes: config.quotaBackendBytes });
    this.leaseFront = new LeaseFront({ ...front, leases, transport: parts.transport, requestTimeoutMs, electionTimeoutMs: config.electionTimeoutMs, isStopped });
    this.admin = new ClusterAdmin({ ...front, name: config.name, advertiseClientUrls: config.advertiseClientUrls, initialClusterToken: config.initialClusterToken, membership });
    this.pacer = new StorePacer(store, (error) => this.failStore(error));
    this.leadership = new Leadership({ ...basics, electionTimeoutMs: config.electionTimeoutMs, schedule: () => this.schedule(), isStopped });
    this.snapshots = new MemberSnapshots({
      store,
      wal: this.wal,
      logger,
      snapshotCount: config.snapshotCount,
      sendSnapshot: (message, body) => this.transport.sendSnapshot(message, body),
      snapshotChunkBytes: transportDefaults.snapshotChunkBytes,
      snapshotFailed: (to) => {
        node.reportSnapshot(to, false);
        this.schedule();
      },
      isStopped,
      onSynced: () => this.schedule(),
    });
    this.inbox = new SnapshotInbox(storeDirectoryOf(config), logger);
    this.metrics = new MemberMetrics({ ...basics, config, store, watchHub: this.watchHub, proposals: this.proposals, kv: this.kv, transport: parts.transport, leadership: this.leadership });
    this.servers = this.buildServers();
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
    // A founder of a new cluster starts from the shared bootstrap snapshot; a member joining an
    // existing cluster starts empty and receives the cluster's state from the leader.
    if (wal.isNew && config.initialClusterState === 'new') await bootstrap(wal, members.map((member) => member.id));
    const node = new RawNode({
      id: self.id,
      electionTicks: electionTicksOf(config),
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
      onUnreachable: (peerId) => node.reportUnreachable(peerId),
      onSnapshotStatus: (peerId, ok) => node.reportSnapshot(peerId, ok),
      onSnapshotStream: (header) => member.inbox.open(header),
      onForward: (_from, request) => member.leaseFront.answerForward(request),
      onPeerGone: (peerId) => member.onPeerGone(peerId),
      dialUrl: (url) => failpoints.map(Failpoint.PeerDialMap).get(url),
    });
    const member: RaftMember = new RaftMember({ config, logger, memberId: self.id, clusterId, node, wal, store, transport, membership, leases, failpoints });
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

  /** One heartbeat interval: the core's tick and the member's periodic chores. */
  private tick(): void {
    this.maybeAdvanceElectionTicks();
    this.node.tick();
    if (++this.ticksSinceSizeCheck * this.config.heartbeatIntervalMs >= SIZE_CHECK_INTERVAL_MS) {
      this.ticksSinceSizeCheck = 0;
      this.kv.measureSize();
    }
    if (++this.ticksSinceLeaseCheck * this.config.heartbeatIntervalMs >= LEASE_CHECK_INTERVAL_MS) {
      this.ticksSinceLeaseCheck = 0;
      // The lessor hears of a lost leadership with the next Ready; the core knows it now.
      if (this.node.isLeader()) this.leaseFront.revokeExpired();
    }
    this.reads.expire(performance.now());
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
    if (this.node.leaderId() !== 0 || this.node.voters().length <= 1) {
      this.electionTicksAdvanced = true;
      return;
    }
    if (!Object.values(this.transport.stats()).some((peer) => peer.connected)) return;
    this.electionTicksAdvanced = true;
    for (let i = 0; i < electionTicksOf(this.config) - 1; i++) this.node.tick();
  }

  /**
   * The leader's process is gone (its peer port refuses connections, as after a kill -9): no need
   * to wait out its lease before electing another.
   */
  private onPeerGone(peerId: number): void {
    if (this.stopped || peerId !== this.node.leaderId() || this.node.isLeader()) return;
    this.node.forgetLeader();
    this.schedule();
  }

  private onPeerMessages(messages: readonly Message[]): void {
    if (this.stopped) return;
    for (const message of messages) this.node.step(message);
    // A staged snapshot the core did not take (stale) is dropped now, not left on disk.
    if (messages.some(isSnap)) this.inbox.keepOnly(this.node.pendingSnapshotData());
    this.schedule();
  }

  /** Coalesces every input of one event-loop turn into one pass of the Ready loop. */
  private schedule(): void {
    if (this.readyScheduled || this.stopped) return;
    this.readyScheduled = true;
    setImmediate(() => {
      this.readyScheduled = false;
      this.proposals.flush();
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
    this.schedule();
  }

  private async handleReady(ready: Ready): Promise<void> {
    if (ready.softState !== null) this.onLeaderChange(ready.softState);
    const steps = readySteps(ready, this.readyHost);
    for (let step = steps.next(); step.done !== true; step = steps.next()) {
      await this.performDiskStep(step.value);
      // A stopped member acts on nothing more: what ran so far is what a crash here would leave.
      if (this.stopped) return;
    }
    await this.maybeSnapshot();
  }

  private readonly readyHost: ReadyHost<Map<number, ApplyResult>> = {
    send: (messages) => this.send(messages),
    apply: (entries) => {
      const results = this.applier.applyEntries(entries);
      if (entries.length > 0) this.pacer.applied();
      return results;
    },
    advance: () => this.node.advance(),
    settle: (results) => {
      for (const [requestId, result] of results) this.proposals.settle(requestId, result);
    },
    confirmReads: (readStates) => {
      for (const readState of readStates) this.reads.confirmed(readState.index, readState.context);
      this.reads.releaseApplied();
    },
  };

  /** Messages to the transport; each MsgSnap on a stream of its own, with the store's dump (snapshots.ts). */
  private send(messages: readonly Message[]): void {
    this.metrics.sending(messages);
    if (!messages.some(isSnap)) {
      this.transport.send(messages);
      this.transport.flush();
      return;
    }
    this.transport.send(messages.filter((message) => !isSnap(message)));
    this.transport.flush();
    for (const message of messages) if (isSnap(message)) this.snapshots.sendWithDump(message);
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

  /** The core's leader or role changed: the one place that reacts to it. */
  private onLeaderChange(softState: SoftState): void {
    this.leaseFront.setLeading(softState.state === StateType.Leader);
    this.admin.maybePublish();
    this.leadership.leaderChanged();
  }

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
    if (this.node.appliedIndex() < this.store.appliedIndex) return;
    await this.snapshots.maybeCreate(() => this.node.confState());
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

  private onRemoved(): void {
    this.logger.warn({ memberId: formatId(this.memberId) }, 'this member was removed from the cluster; shutting down');
    // The Ready in progress finishes first: its acknowledgements matter to the others, and the
    // client that asked this very member to remove it still gets its answer. drive() then stops.
    this.removedFromCluster = true;
  }

  // ---- what the API serves --------------------------------------------------------------------

  private buildServers(): MemberServers {
    const header = (revision?: number): ResponseHeader => this.header(revision);
    const maintenance: MaintenanceServer = {
      header,
      status: () => this.status(),
      alarm: (request) => this.kv.alarm(request),
      alarmDescriptions: () => this.kv.alarmDescriptions(),
      moveLeader: async (targetId) => {
        await this.leadership.moveTo(targetId);
        return { header: this.header() };
      },
      hashKV: (revision) => this.kv.hashKV(revision),
    };
    return {
      kv: this.kv,
      lease: this.leaseFront,
      cluster: this.admin,
      maintenance,
      watch: watchServerOf(this.watchHub, header),
      hasLeader: () => this.node.leaderId() !== 0,
      onLeaderChange: (listener) => this.leadership.subscribe(listener),
      electionTimeoutMs: this.config.electionTimeoutMs,
      watchProgressNotifyIntervalMs: this.config.watchProgressNotifyIntervalMs,
    };
  }

  header(revision: number = this.store.revision): ResponseHeader {
    return { clusterId: this.clusterId, memberId: this.memberId, revision, raftTerm: this.node.term() };
  }

  async status(): Promise<MemberStatus> {
    const node = this.node;
    return {
      dbSize: await this.store.approximateBytes(),
      leader: node.leaderId(),
      raftIndex: node.committedIndex(),
      raftTerm: node.term(),
      raftAppliedIndex: this.store.appliedIndex,
      isLearner: node.isLearner(),
      revision: this.store.revision,
    };
  }

  // ---- leadership and stopping ------------------------------------------------------------------

  /** Before a leader stops, it hands leadership to the most up-to-date voter (leadership.ts). */
  transferLeadershipAway(): Promise<void> {
    return this.leadership.handAway();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.metrics.stop();
    if (this.ticker !== null) clearInterval(this.ticker);
    this.pacer.stop();
    this.proposals.stop();
    this.reads.stop();
    this.leadership.leaderChanged();
    // Let an in-flight Ready finish its write before closing the databases under it.
    while (this.readyInFlight) await new Promise((resolve) => setTimeout(resolve, 5));
    await this.transport.stop();
    await this.inbox.close();
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

function isSnap(message: Message): boolean {
  return message.type === MessageType.Snap;
}

/** The election timeout in ticks (one tick per heartbeat interval). */
function electionTicksOf(config: ServerConfig): number {
  return Math.max(2, Math.round(config.electionTimeoutMs / config.heartbeatIntervalMs));
}
