import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { describeWithBinaries } from './external.js';

describeWithBinaries(['etcdctl', 'etcd'], 'etcd reference binaries for compatibility tests', (paths) => {
  it('etcdctl speaks the v3 API', () => {
    const output = execFileSync(paths.etcdctl, ['version'], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } });
    expect(output).toMatch(/etcdctl version: 3\./);
    expect(output).toMatch(/API version: 3\./);
  });
});
