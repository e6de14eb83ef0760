// etcd's Lease service: grant, revoke, time-to-live and the list go to the member; keep-alives
// arrive on a bidirectional stream, each answered with the TTL the lease now has (0: no such lease).

import { status, type ServerDuplexStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { toLeaseId, type LeaseServer } from '../server/servers.js';
import { toGrpcError } from './errors.js';
import { header, unary } from './handlers.js';
import type { LeaderMonitor } from './leader-monitor.js';

export function leaseService(member: LeaseServer, leaderMonitor: LeaderMonitor): UntypedServiceImplementation {
  return {
    LeaseGrant: unary(async (request) => {
      const result = await member.leaseGrant(Number(request.TTL ?? 0), toLeaseId(request.ID));
      return { header: header(result.header), ID: result.id, TTL: result.ttlSeconds, error: '' };
    }),
    LeaseRevoke: unary(async (request) => {
      const result = await member.leaseRevoke(toLeaseId(request.ID));
      return { header: header(result.header) };
    }),
    LeaseTimeToLive: unary(async (request) => {
      const result = await member.leaseTimeToLive(toLeaseId(request.ID), request.keys === true);
      return { header: header(result.header), ID: result.ID, TTL: result.TTL, grantedTTL: result.grantedTTL ?? 0, keys: result.keys ?? [] };
    }),
    LeaseLeases: unary(async () => ({ header: header(member.header()), leases: member.leaseIds().map((id) => ({ ID: id })) })),
    LeaseKeepAlive: (call: ServerDuplexStream<any, any>) => keepAlive(member, call, leaderMonitor),
  };
}

/** Answers keep-alives in the order they came; a failure (no leader, say) ends the stream with its status. */
function keepAlive(member: LeaseServer, call: ServerDuplexStream<any, any>, leaderMonitor: LeaderMonitor): void {
  let ended = false;
  let stopMonitoring: (() => void) | null = null;
  const fail = (error: Partial<{ code: status; details: string }>): void => {
    if (ended) return;
    ended = true;
    stopMonitoring?.();
    call.emit('error', error);
  };
  if (leaderMonitor.requiresLeader(call.metadata)) {
    stopMonitoring = leaderMonitor.watch(() => fail({ code: status.UNAVAILABLE, details: 'etcdserver: no leader' }));
    if (stopMonitoring === null) return;
  }
  let queue: Promise<void> = Promise.resolve();
  call.on('data', (request: any) => {
    queue = queue.then(async () => {
      if (ended) return;
      try {
        const id = toLeaseId(request.ID);
        const result = await member.leaseRenew(id);
        if (!ended) call.write({ header: header(result.header), ID: id, TTL: result.ttlSeconds });
      } catch (error) {
        fail(toGrpcError(error) as { code: status; details: string });
      }
    });
  });
  const finish = (): void => {
    if (ended) return;
    ended = true;
    stopMonitoring?.();
  };
  call.on('end', () => {
    void queue.then(() => {
      if (ended) return;
      finish();
      call.end();
    });
  });
  call.on('error', finish);
  call.on('cancelled', finish);
}
