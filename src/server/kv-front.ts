// The key-value side of a member: writes are checked, held to the quota and proposed through
// Raft; reads wait for the linearizable barrier (unless serializable) and are served from the
// store; alarms and HashKV, which the Maintenance service asks of the store.

import type { MvccStore } from '../mvcc/mvcc-store.js';
import { Failpoint, type Failpoints } from '../failpoints/failpoints.js';
import { AlarmAction, AlarmType, type Alarms } from './alarms.js';
import { rangeOptions, translateStoreError } from './apply.js';
import { ServerError, ServerErrorCode } from './errors.js';
import type { FrontBasics } from './parts.js';
import type { AlarmRequest, CompactionRequest, DeleteRangeRequest, PutRequest, RangeRequest, TxnRequest } from './requests.js';
import type { AlarmMember, DeleteRangeOutcome, KeyValue, KvServer, RangeResult, RangeSink, ResponseHeader, TxnOutcome } from './servers.js';
import { requireKey, txnWrites, validatePut, validateTxn } from './validate.js';

export interface KvFrontParts extends FrontBasics {
  readonly store: MvccStore;
  readonly alarms: Alarms;
  readonly failpoints: Failpoints;
  readonly quotaBackendBytes: number;
}

export class KvFront implements KvServer {
  /** The store's size as last measured, for --quota-backend-bytes. */
  private storeBytes = 0;

  constructor(private readonly parts: KvFrontParts) {}

  header(revision?: number): ResponseHeader {
    return this.parts.header(revision);
  }

  /** The store's size as last measured (every second): etcd_mvcc_db_total_size_in_bytes. */
  get measuredStoreBytes(): number {
    return this.storeBytes;
  }

  /** Measures the store's size, in the background, for the quota check. */
  measureSize(): void {
    void this.parts.store.approximateBytes().then((bytes) => (this.storeBytes = bytes), () => {});
  }

  async put(request: PutRequest): Promise<{ header: ResponseHeader; prevKv?: KeyValue }> {
    validatePut(request);
    this.checkQuota((request.key?.byteLength ?? 0) + (request.value?.byteLength ?? 0));
    const result = await this.parts.proposals.propose({ put: request });
    return { header: this.header(result.revision), ...(result.prevKv === undefined ? {} : { prevKv: result.prevKv }) };
  }

  async deleteRange(request: DeleteRangeRequest): Promise<{ header: ResponseHeader } & DeleteRangeOutcome> {
    requireKey(request.key);
    const result = await this.parts.proposals.propose({ delete_range: request });
    return { header: this.header(result.revision), ...(result.deleteRange ?? { deleted: 0, prevKvs: [] }) };
  }

  async txn(request: TxnRequest): Promise<{ header: ResponseHeader } & TxnOutcome> {
    validateTxn(request);
    if (txnWrites(request)) this.checkQuota(0);
    const result = await this.parts.proposals.propose({ txn: request });
    return { header: this.header(result.revision), ...(result.txn ?? { succeeded: false, responses: [] }) };
  }

  async compact(request: CompactionRequest): Promise<{ header: ResponseHeader }> {
    const result = await this.parts.proposals.propose({ compaction: request });
    return { header: this.header(result.revision) };
  }

  /** etcd's Range; with a `sink`, the kvs go to it one at a time (read and handed over in one go, after the read barrier) and the result's kvs is empty. */
  async range(request: RangeRequest, sink?: RangeSink): Promise<RangeResult & { header: ResponseHeader }> {
    requireKey(request.key);
    if (!request.serializable && !this.parts.failpoints.enabled(Failpoint.UnsafeLocalReads)) await this.parts.linearizableBarrier();
    try {
      const result = this.parts.store.range(request.key, request.range_end ?? new Uint8Array(0), { ...rangeOptions(request), sink });
      return { ...result, header: this.header(result.revision) };
    } catch (error) {
      throw translateStoreError(error);
    }
  }

  /** etcd's HashKV: a hash of this member's history up to `revision` (0 = now). */
  async hashKV(revision: number): Promise<{ header: ResponseHeader; hash: number; compactRevision: number; hashRevision: number }> {
    try {
      const result = await this.parts.store.hashYielding(revision);
      return { header: this.header(result.revision), hash: result.hash, compactRevision: result.compactRevision, hashRevision: result.hashRevision };
    } catch (error) {
      throw translateStoreError(error);
    }
  }

  async alarm(request: AlarmRequest): Promise<{ header: ResponseHeader; alarms: AlarmMember[] }> {
    if ((request.action ?? AlarmAction.Get) === AlarmAction.Get) return { header: this.header(), alarms: this.parts.alarms.list(request.alarm ?? AlarmType.None) };
    const result = await this.parts.proposals.propose({ alarm: request });
    return { header: this.header(result.revision), alarms: result.alarms ?? [] };
  }

  alarmDescriptions(): string[] {
    return this.parts.alarms.describe();
  }

  /**
   * etcd's quota check before a write is proposed: past --quota-backend-bytes the NOSPACE alarm is
   * raised (once) and the write refused; reads and deletes go on.
   */
  private checkQuota(requestBytes: number): void {
    const { alarms, quotaBackendBytes, memberId } = this.parts;
    if (alarms.has(AlarmType.NoSpace)) throw ServerError.of(ServerErrorCode.NoSpace);
    if (this.storeBytes + requestBytes <= quotaBackendBytes) return;
    this.parts.logger.warn({ storeBytes: this.storeBytes, quotaBackendBytes }, 'database space exceeded; raising the NOSPACE alarm');
    this.parts.proposals.propose({ alarm: { action: AlarmAction.Activate, memberID: memberId, alarm: AlarmType.NoSpace } }).catch(() => {});
    throw ServerError.of(ServerErrorCode.NoSpace);
  }
}
