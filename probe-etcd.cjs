const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');
const def = loader.loadSync('etcdserverpb/rpc.proto', { includeDirs: ['/work/wt-lease64/proto'], keepCase: true, longs: String, defaults: true });
const pkg = grpc.loadPackageDefinition(def).etcdserverpb;
const addr = process.argv[2];
const lease = new pkg.Lease(addr, grpc.credentials.createInsecure());
const kv = new pkg.KV(addr, grpc.credentials.createInsecure());
const call = (c, m, r) => new Promise((res) => c[m](r, (e, v) => res(e ? { code: e.code, details: e.details } : v)));
(async () => {
  for (const id of ['9223372036854775807', '-9223372036854775808', '9007199254740993', '-1', '-2', '0']) {
    const g = await call(lease, 'LeaseGrant', { TTL: 60, ID: id });
    console.log('grant', id, JSON.stringify(g.ID ?? g), g.error);
    if (g.ID === undefined) continue;
    const p = await call(kv, 'Put', { key: Buffer.from('k' + id), value: Buffer.from('v'), lease: g.ID });
    console.log(' put', JSON.stringify(p.code ? p : 'ok'));
    const r = await call(kv, 'Range', { key: Buffer.from('k' + id) });
    console.log(' range lease', r.kvs?.[0]?.lease);
    const t = await call(lease, 'LeaseTimeToLive', { ID: g.ID, keys: true });
    console.log(' ttl', JSON.stringify(t.code ? t : { ID: t.ID, TTL: t.TTL, g: t.grantedTTL, keys: t.keys.map(String) }));
    const tx = await call(kv, 'Txn', { compare: [{ key: Buffer.from('k' + id), target: 'LEASE', result: 'EQUAL', lease: g.ID }] });
    console.log(' txn eq', tx.succeeded);
    const tx2 = await call(kv, 'Txn', { compare: [{ key: Buffer.from('k' + id), target: 'LEASE', result: 'LESS', lease: '0' }] });
    console.log(' txn less 0', tx2.succeeded);
    const ka = lease.LeaseKeepAlive();
    const kr = await new Promise((res) => { ka.on('data', res); ka.on('error', (e) => res({code: e.code, details: e.details})); ka.write({ ID: g.ID }); });
    ka.end();
    console.log(' keepalive', JSON.stringify(kr.header ? { ID: kr.ID, TTL: kr.TTL } : kr));
  }
  const l = await call(lease, 'LeaseLeases', {});
  console.log('leases', l.leases.map((x) => x.ID));
  for (const id of ['9223372036854775807', '-9223372036854775808', '-1', '12345']) {
    const rv = await call(lease, 'LeaseRevoke', { ID: id });
    console.log('revoke', id, JSON.stringify(rv.code ? rv : 'ok'));
  }
  const r = await call(kv, 'Range', { key: Buffer.from('k'), range_end: Buffer.from('l') });
  console.log('left', r.kvs.map((k) => k.key.toString() + ':' + k.lease));
  const g2 = await call(lease, 'LeaseGrant', { TTL: 60, ID: '9223372036854775807' });
  const g3 = await call(lease, 'LeaseGrant', { TTL: 60, ID: '9223372036854775807' });
  console.log('dup', JSON.stringify(g3));
  const p = await call(kv, 'Put', { key: Buffer.from('x'), value: Buffer.from('v'), lease: '-5' });
  console.log('put unknown', JSON.stringify(p));
  const ttl = await call(lease, 'LeaseTimeToLive', { ID: '-5', keys: true });
  console.log('ttl unknown', JSON.stringify(ttl.code ? ttl : { ID: ttl.ID, TTL: ttl.TTL, g: ttl.grantedTTL }));
  const ka = lease.LeaseKeepAlive();
  const kr = await new Promise((res) => { ka.on('data', res); ka.on('error', (e) => res({code: e.code, details: e.details})); ka.write({ ID: '-5' }); });
  ka.end();
  console.log('keepalive unknown', JSON.stringify(kr.header ? { ID: kr.ID, TTL: kr.TTL } : kr));
  const rv0 = await call(lease, 'LeaseRevoke', { ID: '0' });
  console.log('revoke 0', JSON.stringify(rv0.code ? rv0 : 'ok'));
  const ttl0 = await call(lease, 'LeaseTimeToLive', { ID: '0' });
  console.log('ttl 0', JSON.stringify(ttl0.code ? ttl0 : { ID: ttl0.ID, TTL: ttl0.TTL }));
  process.exit(0);
})();
