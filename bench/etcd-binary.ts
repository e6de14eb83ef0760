// Finds etcd 3.4's binaries, installing Debian's packages when they are missing.

import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const INSTALL_TIMEOUT_MS = 10 * 60_000;

export function findOnPath(command: string): string | null {
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    if (directory === '') continue;
    const candidate = join(directory, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** The path of `etcd`; runs `apt-get install -y etcd-server etcd-client` first when it is not on PATH. */
export function ensureEtcd(log: (line: string) => void): string {
  const found = findOnPath('etcd');
  if (found !== null) return found;
  log('etcd not found: apt-get install -y etcd-server etcd-client');
  const install = (): void => {
    execFileSync('apt-get', ['install', '-y', 'etcd-server', 'etcd-client'], { stdio: 'inherit', timeout: INSTALL_TIMEOUT_MS });
  };
  try {
    install();
  } catch {
    // A fresh machine has no package lists yet.
    execFileSync('apt-get', ['update'], { stdio: 'inherit', timeout: INSTALL_TIMEOUT_MS });
    install();
  }
  const installed = findOnPath('etcd');
  if (installed === null) throw new Error('etcd is still not on PATH after apt-get install etcd-server');
  return installed;
}

export function etcdVersion(etcdPath: string): string {
  const output = execFileSync(etcdPath, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return /etcd Version:\s*(\S+)/.exec(output)?.[1] ?? output.split('\n')[0];
}
