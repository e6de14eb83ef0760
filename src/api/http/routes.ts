// etcd 3.4's JSON gateway paths: the `google.api.http` options of its rpc.proto, every one `POST`
// with the whole request as the body. A route names the gRPC method it reaches; the gateway calls
// the same handler the gRPC server calls, so serving a new service over HTTP is listing it here.

export interface GatewayRoute {
  readonly path: string;
  /** The service in package etcdserverpb. */
  readonly service: string;
  readonly method: string;
}

function routes(service: string, table: ReadonlyArray<readonly [string, string]>): GatewayRoute[] {
  return table.map(([path, method]) => ({ path, service, method }));
}

export const GATEWAY_ROUTES: readonly GatewayRoute[] = [
  ...routes('KV', [
    ['/v3/kv/range', 'Range'],
    ['/v3/kv/put', 'Put'],
    ['/v3/kv/deleterange', 'DeleteRange'],
    ['/v3/kv/txn', 'Txn'],
    ['/v3/kv/compaction', 'Compact'],
  ]),
  ...routes('Watch', [['/v3/watch', 'Watch']]),
  ...routes('Lease', [
    ['/v3/lease/grant', 'LeaseGrant'],
    ['/v3/lease/revoke', 'LeaseRevoke'],
    ['/v3/kv/lease/revoke', 'LeaseRevoke'],
    ['/v3/lease/keepalive', 'LeaseKeepAlive'],
    ['/v3/lease/timetolive', 'LeaseTimeToLive'],
    ['/v3/kv/lease/timetolive', 'LeaseTimeToLive'],
    ['/v3/lease/leases', 'LeaseLeases'],
    ['/v3/kv/lease/leases', 'LeaseLeases'],
  ]),
  ...routes('Cluster', [
    ['/v3/cluster/member/add', 'MemberAdd'],
    ['/v3/cluster/member/remove', 'MemberRemove'],
    ['/v3/cluster/member/update', 'MemberUpdate'],
    ['/v3/cluster/member/list', 'MemberList'],
    ['/v3/cluster/member/promote', 'MemberPromote'],
  ]),
  // etcd 3.4 declares HashKV at /v3/maintenance/hash too, where Hash is served first: HashKV has no
  // path of its own there (/v3/maintenance/hashkv is etcd 3.5's).
  ...routes('Maintenance', [
    ['/v3/maintenance/alarm', 'Alarm'],
    ['/v3/maintenance/status', 'Status'],
    ['/v3/maintenance/defragment', 'Defragment'],
    ['/v3/maintenance/hash', 'Hash'],
    ['/v3/maintenance/hashkv', 'HashKV'],
    ['/v3/maintenance/snapshot', 'Snapshot'],
    ['/v3/maintenance/transfer-leadership', 'MoveLeader'],
  ]),
];
