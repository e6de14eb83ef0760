// Applying committed entries, in index order, on every member alike: client requests to the
// store (through apply.ts), the lessor, alarms and attributes; configuration changes to the core,
// the membership registry and the transport. Returns what the proposers of these entries on this
// member are to be answered.

import { ConfChangeType, EntryType, type ConfChange, type Entry } from '../raft/index.js';
import type { KeyValue, MvccStore } from '../mvcc/mvcc-store.js';
import { NO_LEASE, type LeaseId } from '../lease/lease-id.js';
import { LeaseExistsError, LeaseNotFoundError } from '../lease/lessor.js';
import { applyDeleteRange, applyPut, applyTxn, inWriteTxn, translateStoreError, type DeleteRangeOutcome, type TxnOutcome } from './apply.js';
import { AlarmType, type AlarmMember, type Alarms } from './alarms.js';
import { readCommittedConfChange, readCommittedRequest } from './committed-entries.js';
import { ServerError, ServerErrorCode } from './errors.js';
import { formatId } from './identity.js';
import type { MemberLeases } from './leases.js';
import type { Membership } from './membership.js';
import type { MemberBasics } from './parts.js';
import type { DeleteRangeRequest, InternalRequest, PutRequest, TxnRequest } from './requests.js';
import { txnWrites } from './validate.js';
import { SLOW_APPLY_SECONDS, slowApplies } from '../metrics/index.js';

const SLOW_APPLY_MS = SLOW_APPLY_SECONDS * 1000;

export interface ApplyResult {
  readonly revision: number;
  /** The request could not apply (the same way on every member); the client gets this error. */
  readonly error?: Error;
  readonly prevKv?: KeyValue;
  readonly deleteRange?: DeleteRangeOutcome;
  readonly txn?: TxnOutcome;
  readonly alarms?: AlarmMember[];
}

export interface EntryApplierParts extends MemberBasics {
  readonly store: MvccStore;
  readonly alarms: Alarms;
  readonly leases: MemberLeases;
  readonly membership: Membership;
  /** The registry changed: the transport is to dial who is in it. */
  readonly membershipChanged: () => void;
  /** This member applied its own removal. */
  readonly removed: () => void;
}

export class EntryApplier {
  private readonly applyContext = { leaseExists: (id: LeaseId): boolean => this.parts.leases.lessor.has(id) };

  constructor(private readonly parts: EntryApplierParts) {}

  /** Applies `entries` in order; returns request id → result for the requests this member proposed. */
  applyEntries(entries: readonly Entry[]): Map<number, ApplyResult> {
    const { store, memberId, logger } = this.parts;
    const results = new Map<number, ApplyResult>();
    for (const entry of entries) {
      if (entry.type === EntryType.ConfChange) {
        const outcome = this.applyConfChange(entry, entry.index > store.appliedIndex);
        if (outcome !== null) results.set(outcome.requestId, { revision: store.revision, ...(outcome.error === null ? {} : { error: outcome.error }) });
        continue;
      }
      // Replayed after a restart: the store already holds it.
      if (entry.index <= store.appliedIndex || entry.data.byteLength === 0) continue;
      const request = readCommittedRequest(entry.data);
      if (request === null) {
        // Nobody can be answered: the proposer's id is inside the bytes that did not decode.
        logger.error({ index: entry.index }, 'skipped a committed entry that does not decode');
        continue;
      }
      const startMs = performance.now();
      const result = this.applyRequest(request, entry.index);
      if (performance.now() - startMs > SLOW_APPLY_MS) slowApplies.inc();
      if (request.member_id === memberId) results.set(request.request_id, result);
    }
    if (entries.length > 0) store.markApplied(entries[entries.length - 1].index);
    return results;
  }

  /**
   * Applies a configuration change to the core (always, also when replaying after a restart) and,
   * for a new entry, to the membership registry and the transport. A change judged unfit
   * (committed-conf-change.ts) changes neither, on every member alike. Returns the request to
   * answer when this member proposed the change.
   */
  private applyConfChange(entry: Entry, isNew: boolean): { requestId: number; error: ServerError | null } | null {
    const { memberId, logger, membership } = this.parts;
    const { change, context, error } = readCommittedConfChange(entry.data);
    const answer = isNew && context !== null && context.proposer_id === memberId && context.request_id !== undefined ? context.request_id : null;
    if (error !== null) {
      if (isNew) logger.warn({ index: entry.index, err: error }, 'refused a committed membership change');
      return answer === null ? null : { requestId: answer, error };
    }
    const confState = this.parts.node.applyConfChange(change);
    if (!isNew) return null;
    const peerUrls = context?.peer_urls ?? [];
    if (change.type === ConfChangeType.UpdateNode) membership.updatePeerUrls(change.nodeId, peerUrls);
    membership.sync(confState, { id: change.nodeId, peerUrls });
    this.parts.membershipChanged();
    logger.info({ change: describeChange(change), voters: confState.voters.map(formatId), learners: confState.learners.map(formatId) }, 'applied membership change');
    if (change.type === ConfChangeType.RemoveNode && change.nodeId === memberId) this.parts.removed();
    return answer === null ? null : { requestId: answer, error: null };
  }

  private applyRequest(request: InternalRequest, index: number): ApplyResult {
    const { store, alarms, leases } = this.parts;
    try {
      // While NOSPACE stands, nothing that adds data applies (etcd's capped applier).
      if (alarms.has(AlarmType.NoSpace) && (request.put !== undefined || request.lease_grant !== undefined || (request.txn !== undefined && txnWrites(request.txn)))) {
        return { revision: store.revision, error: ServerError.of(ServerErrorCode.NoSpace) };
      }
      if (request.alarm !== undefined) return { revision: store.revision, alarms: alarms.apply(request.alarm) };
      if (request.lease_grant !== undefined) {
        // protobuf leaves a zero ID out of the entry.
        leases.grant(request.lease_grant.ID ?? NO_LEASE, request.lease_grant.TTL ?? 0);
        return { revision: store.revision };
      }
      if (request.lease_revoke !== undefined) {
        const id = request.lease_revoke.ID ?? NO_LEASE;
        inWriteTxn(store, (txn) => leases.revoke(txn, id));
        leases.forget(id);
        return { revision: store.revision };
      }
      if (request.put !== undefined) {
        const outcome = inWriteTxn(store, (txn) => applyPut(txn, request.put as PutRequest, this.applyContext));
        return { revision: store.revision, ...outcome };
      }
      if (request.delete_range !== undefined) {
        const outcome = inWriteTxn(store, (txn) => applyDeleteRange(txn, request.delete_range as DeleteRangeRequest));
        return { revision: store.revision, deleteRange: outcome };
      }
      if (request.txn !== undefined) {
        const outcome = inWriteTxn(store, (txn) => applyTxn(txn, request.txn as TxnRequest, this.applyContext));
        return { revision: store.revision, txn: outcome };
      }
      if (request.compaction !== undefined) {
        store.compact(request.compaction.revision);
        return { revision: store.revision };
      }
      if (request.publish !== undefined) {
        this.parts.membership.setAttributes(request.publish.member_id, request.publish.name, request.publish.client_urls ?? []);
      }
      return { revision: store.revision };
    } catch (error) {
      const translated = translateLeaseError(translateStoreError(error));
      // A request that cannot apply fails alike on every member.
      if (translated instanceof ServerError) return { revision: store.revision, error: translated };
      // Anything else is a bug, but one every member meets alike on the same entry (applying
      // reads nothing but the entry and the replicated state): stopping would stop them all, and
      // again after every restart. The store's transaction was rolled back; the client is told.
      this.parts.logger.error({ err: error, index }, 'a committed request failed to apply; answering it with an error');
      return { revision: store.revision, error: new ServerError(ServerErrorCode.ApplyFailed, 'etcdserver: request could not be applied', { cause: error }) };
    }
  }
}

function translateLeaseError(error: unknown): unknown {
  if (error instanceof LeaseNotFoundError) return new ServerError(ServerErrorCode.LeaseNotFound, error.message, { cause: error });
  if (error instanceof LeaseExistsError) return new ServerError(ServerErrorCode.LeaseExists, error.message, { cause: error });
  return error;
}

function describeChange(change: ConfChange): string {
  const names: Record<number, string> = { 0: 'add-voter', 1: 'remove', 2: 'update', 3: 'add-learner' };
  return `${names[change.type]} ${formatId(change.nodeId)}`;
}
