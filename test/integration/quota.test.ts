// --quota-backend-bytes: past the quota the NOSPACE alarm is raised through Raft, writes fail with
// etcd's error while reads go on, and the alarm can be listed and disarmed.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, call, type MemberProcess } from './harness.js';

let cluster: TestCluster;
let m1: MemberProcess;
let m2: MemberProcess;

beforeAll(async () => {
  cluster = await TestCluster.start(3, ['--quota-backend-bytes=400000']);
  [m1, m2] = cluster.members;
}, 60_000);
afterAll(async () => {
  await cluster.stop();
});

describe('space quota', () => {
  it('raises NOSPACE past the quota, refuses writes, serves reads, and can be disarmed', async () => {
    const value = Buffer.alloc(16 * 1024, 7);
    let refusal: any = null;
    const deadline = Date.now() + 20_000;
    for (let i = 0; refusal === null && Date.now() < deadline; i++) {
      try {
        await call(cluster.client(m1), 'Put', { key: Buffer.from(`big/${i}`), value });
      } catch (error) {
        refusal = error;
      }
    }
    expect(refusal).toMatchObject({ code: 8, details: 'etcdserver: mvcc: database space exceeded' });

    // The alarm is cluster-wide once applied: another member refuses writes too, but still reads.
    const maintenance = cluster.client(m2, 'Maintenance');
    let alarms: any[] = [];
    for (const until = Date.now() + 5000; alarms.length === 0 && Date.now() < until; ) {
      alarms = (await call(maintenance, 'Alarm', { action: 0, alarm: 0 })).alarms;
    }
    expect(alarms.map((a) => a.alarm)).toEqual([1]);
    await expect(call(cluster.client(m2), 'Put', { key: Buffer.from('small'), value: Buffer.from('x') })).rejects.toMatchObject({ code: 8 });
    const read = await call(cluster.client(m2), 'Range', { key: Buffer.from('big/0') });
    expect(read.kvs[0].value.byteLength).toBe(value.byteLength);
    const status = await call(maintenance, 'Status', {});
    expect(status.errors.join(' ')).toMatch(/alarm:NOSPACE/);

    const disarmed = await call(maintenance, 'Alarm', { action: 2, memberID: alarms[0].memberID, alarm: 1 });
    expect(disarmed.alarms.map((a: any) => a.alarm)).toEqual([1]);
    expect((await call(maintenance, 'Alarm', { action: 0, alarm: 0 })).alarms).toEqual([]);
  }, 60_000);
});
