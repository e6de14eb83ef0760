// `npm start`: a three-member raftkv cluster on loopback with data under ./data/, the same layout
// as etcd's Procfile (clients on 2379/22379/32379, peers on 12380/22380/32380). Ctrl-C stops all.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');
const MEMBERS = [
  { name: 'm1', client: 2379, peer: 12380 },
  { name: 'm2', client: 22379, peer: 22380 },
  { name: 'm3', client: 32379, peer: 32380 },
];
const initialCluster = MEMBERS.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');

const children: ChildProcess[] = [];
for (const member of MEMBERS) {
  const dataDir = join(ROOT, 'data', member.name);
  mkdirSync(dataDir, { recursive: true });
  // bin/raftkv itself, not `node bin/raftkv`: its first line carries the node flags a member runs with.
  const child = spawn(
    join(ROOT, 'bin', 'raftkv'),
    [
      `--name=${member.name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=http://127.0.0.1:${member.client}`,
      `--advertise-client-urls=http://127.0.0.1:${member.client}`,
      `--listen-peer-urls=http://127.0.0.1:${member.peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${member.peer}`,
      `--initial-cluster=${initialCluster}`,
      '--initial-cluster-token=raftkv-local',
      '--log-level=warn',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`${member.name} exited (${signal ?? code}); stopping the cluster`);
    void stopAll();
  });
  children.push(child);
}

const endpoints = MEMBERS.map((m) => `127.0.0.1:${m.client}`).join(',');
console.log(`raftkv: three members running, data under ${join(ROOT, 'data')}`);
console.log(`client endpoints: ${endpoints}`);
console.log(`try: etcdctl --endpoints=${endpoints} put greeting hello && etcdctl --endpoints=${endpoints} get greeting`);
console.log('Ctrl-C stops all three.');

let stopping = false;
async function stopAll(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  process.exit(0);
}
process.on('SIGINT', () => void stopAll());
process.on('SIGTERM', () => void stopAll());
