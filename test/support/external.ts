// Tests that need a binary from outside the repository (etcd, etcdctl, prometheus) use this: when the binary is
// missing they skip with a visible message, unless RAFTKV_REQUIRE_EXTERNAL=1 (as in CI), where a
// missing binary is a failure.

import { execFileSync } from 'node:child_process';
import { describe } from 'vitest';

export function findBinary(name: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/** The Debian package that brings each binary (.ci/run installs them). */
const DEBIAN_PACKAGE_OF: Readonly<Record<string, string>> = { etcd: 'etcd-server', etcdctl: 'etcd-client', prometheus: 'prometheus' };

export const externalRequired = process.env.RAFTKV_REQUIRE_EXTERNAL === '1';

/** Like `describe`, but only when every binary in `names` is on PATH. */
export function describeWithBinaries(names: readonly string[], title: string, body: (paths: Record<string, string>) => void): void {
  const paths: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of names) {
    const path = findBinary(name);
    if (path === null) missing.push(name);
    else paths[name] = path;
  }
  if (missing.length === 0) {
    describe(title, () => body(paths));
    return;
  }
  if (externalRequired) {
    describe(title, () => {
      throw new Error(`RAFTKV_REQUIRE_EXTERNAL=1 but ${missing.join(', ')} not found on PATH`);
    });
    return;
  }
  const packages = [...new Set(missing.map((name) => DEBIAN_PACKAGE_OF[name] ?? name))];
  console.warn(`SKIPPED "${title}": ${missing.join(', ')} not installed (apt-get install -y ${packages.join(' ')})`);
  describe.skip(`${title} (skipped: ${missing.join(', ')} not installed)`, () => body(paths));
}
