// The lease side of a member: grants and revocations go through Raft; keep-alives and
// time-to-live questions go to the leader, the only member that keeps deadlines (a follower
// forwards them over the peer transport); the leader revokes what expired.

import { stringToKey } from '../mvcc/codec.js';
import { NO_LEASE, type LeaseId } from '../lease/lease-id.js';
import { LEASE_TTL_SECONDS_MAX, LeaseNotFoundError } from '../lease/lessor.js';
import type { PeerTransport } from '../transport/index.js';
import { randomInt } from 'node:crypto';
import { ServerError, ServerErrorCode } from './errors.js';
import type { MemberLeases } from './leases.js';
import type { FrontBasics } from './parts.js';
import { decodeForwardRequest, decodeForwardResponse, encodeForwardRequest, encodeForwardResponse, type ForwardRequest, type ForwardResponse, type LeaseTimeToLive } from './requests.js';
import type { LeaseServer, ResponseHeader } from './servers.js';

/** A leader revokes at most this many expired leases per check (etcd: 1000 a second). */
const LEASE_REVOKES_PER_CHECK_MAX = 500;
/** An expired lease whose revocation did not apply is proposed again after this long. */
const LEASE_REVOKE_RETRY_MS = 3000;
/** How long a request for the leader waits between attempts while there is none. */
const ASK_LEADER_RETRY_MS = 50;
/** Monotonic: lease deadlines must not move with the wall clock. */
export const monotonicNow = (): number => performance.now();

export interface LeaseFrontParts extends FrontBasics {
  readonly leases: MemberLeases;
  readonly transport: PeerTransport;
  readonly requestTimeoutMs: number;
  readonly electionTimeoutMs: number;
  readonly isStopped: () => boolean;
}

export class LeaseFront implements LeaseServer {
  private leading = false;

  constructor(private readonly parts: LeaseFrontParts) {}

  header(revision?: number): ResponseHeader {
    return this.parts.header(revision);
  }

  /** etcd's LeaseGrant: any int64 ID, 0 letting the member choose; the TTL is raised to the minimum. */
  async leaseGrant(ttlSeconds: number, requestedId: LeaseId): Promise<{ header: ResponseHeader; id: LeaseId; ttlSeconds: number }> {
    if (ttlSeconds > LEASE_TTL_SECONDS_MAX) throw new ServerError(ServerErrorCode.LeaseTtlTooLarge, 'etcdserver: too large lease TTL');
    // A chosen ID is positive and below 2^53, as before IDs became 64-bit: clients that read IDs
    // as JS numbers keep working with the IDs they did not pick.
    const id = requestedId !== NO_LEASE ? requestedId : BigInt(randomInt(1, 2 ** 47) * 64 + randomInt(64));
    const ttl = this.parts.leases.lessor.effectiveTtl(ttlSeconds);
    const result = await this.parts.proposals.propose({ lease_grant: { ID: id, TTL: ttl } });
    return { header: this.parts.header(result.revision), id, ttlSeconds: ttl };
  }

  async leaseRevoke(id: LeaseId): Promise<{ header: ResponseHeader }> {
    const result = await this.parts.proposals.propose({ lease_revoke: { ID: id } });
    return { header: this.parts.header(result.revision) };
  }

  /** A keep-alive. Only the leader keeps deadlines, so a follower asks it. TTL 0: no such lease. */
  async leaseRenew(id: LeaseId): Promise<{ header: ResponseHeader; ttlSeconds: number }> {
    const answer = await this.askLeader({ lease_renew: { ID: id } });
    return { header: this.parts.header(), ttlSeconds: answer.lease_renew?.TTL ?? 0 };
  }

  /** TTL -1: no such lease (expired or revoked). */
  async leaseTimeToLive(id: LeaseId, keys: boolean): Promise<{ header: ResponseHeader } & LeaseTimeToLive> {
    const answer = await this.askLeader({ lease_time_to_live: { ID: id, keys } });
    return { header: this.parts.header(), ID: id, TTL: -1, ...answer.lease_time_to_live };
  }

  leaseIds(): LeaseId[] {
    return this.parts.leases.lessor.ids();
  }

  /** The member started or stopped leading: only a leader keeps deadlines. */
  setLeading(leads: boolean): void {
    if (leads === this.leading) return;
    this.leading = leads;
    if (leads) this.parts.leases.lessor.promote(monotonicNow(), this.parts.electionTimeoutMs);
    else this.parts.leases.lessor.demote();
  }

  /** On the leader: proposes the revocation of leases past their deadline. */
  revokeExpired(): void {
    for (const id of this.parts.leases.lessor.expired(monotonicNow(), LEASE_REVOKES_PER_CHECK_MAX, LEASE_REVOKE_RETRY_MS)) {
      this.parts.logger.debug({ lease: String(id) }, 'lease expired; revoking');
      this.parts.proposals.propose({ lease_revoke: { ID: id } }).catch(() => {});
    }
  }

  /** Answers a peer's forwarded request (errors travel inside the answer). */
  async answerForward(bytes: Uint8Array): Promise<Uint8Array> {
    try {
      return encodeForwardResponse(await this.answerLeaseRequest(decodeForwardRequest(bytes)));
    } catch (error) {
      const known = error instanceof ServerError ? error : new ServerError(ServerErrorCode.BadRequest, error instanceof Error ? error.message : String(error));
      return encodeForwardResponse({ error_code: known.code, error_message: known.message });
    }
  }

  /**
   * Asks whoever leads now, as etcd does: while there is no leader, or the leader cannot be reached
   * or has just stopped leading, it waits and asks again until the request timeout, so a
   * keep-alive outlives a failover.
   */
  private async askLeader(request: ForwardRequest): Promise<ForwardResponse> {
    const { memberId, node, transport } = this.parts;
    const deadline = monotonicNow() + this.parts.requestTimeoutMs;
    const encoded = encodeForwardRequest(request);
    let lastError: unknown = ServerError.of(ServerErrorCode.NoLeader);
    while (monotonicNow() < deadline && !this.parts.isStopped()) {
      const leader = node.leaderId();
      try {
        if (leader === memberId) return await this.answerLeaseRequest(request);
        if (leader !== 0) {
          const answer = decodeForwardResponse(await transport.forward(leader, encoded, Math.max(1, deadline - monotonicNow())));
          if (answer.error_code === undefined || answer.error_code === '') return answer;
          lastError = new ServerError(answer.error_code as ServerErrorCode, answer.error_message ?? answer.error_code);
          if (answer.error_code !== ServerErrorCode.NotLeader) throw lastError;
        }
      } catch (error) {
        if (error instanceof ServerError && error.code !== ServerErrorCode.NotLeader) throw error;
        lastError = error;
      }
      await new Promise((resolve) => setTimeout(resolve, ASK_LEADER_RETRY_MS));
    }
    if (lastError instanceof ServerError && lastError.code === ServerErrorCode.NoLeader) throw lastError;
    throw ServerError.of(ServerErrorCode.Timeout, { cause: lastError });
  }

  private async answerLeaseRequest(request: ForwardRequest): Promise<ForwardResponse> {
    if (!this.parts.node.isLeader()) throw new ServerError(ServerErrorCode.NotLeader, 'etcdserver: not leader');
    const id = request.lease_renew?.ID ?? request.lease_time_to_live?.ID ?? NO_LEASE;
    const lessor = this.parts.leases.lessor;
    // A lease granted through another member may be committed here but not applied yet.
    if (!lessor.has(id)) await this.parts.linearizableBarrier();
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
}
