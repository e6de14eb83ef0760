// No Docker engine runs here, so the compose file and Dockerfile are checked by reading them:
// every service's command goes through the server's real flag parser, and the pieces must agree.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseServerFlags } from '../../src/cli/flags.js';

const ROOT = join(import.meta.dirname, '..', '..');

interface Service {
  build?: string;
  image?: string;
  command: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

describe('docker-compose.yml and Dockerfile', () => {
  const entries = Object.entries(compose.services);
  const configs = entries.map(([name, service]) => ({ name, service, config: parseServerFlags(service.command, service.environment ?? {}) }));

  it('describes a three-member cluster whose commands the real flag parser accepts', () => {
    expect(entries).toHaveLength(3);
    for (const { name, config } of configs) {
      expect(config.name).toBe(name);
      expect(config.initialClusterToken).toBe('raftkv-compose');
      expect(config.initialClusterState).toBe('new');
    }
  });

  it('gives every member the same --initial-cluster, naming each service at its advertised peer URL', () => {
    const clusters = configs.map(({ config }) => JSON.stringify(config.initialCluster));
    expect(new Set(clusters).size).toBe(1);
    for (const { name, config } of configs) {
      const self = config.initialCluster.find((member) => member.name === name);
      expect(self?.peerUrls).toEqual(config.initialAdvertisePeerUrls);
      expect(new URL(config.initialAdvertisePeerUrls[0]).hostname).toBe(name);
      expect(new URL(config.advertiseClientUrls[0]).hostname).toBe(name);
    }
  });

  it('listens where it advertises, publishes client ports on host loopback only, and keeps data in named volumes', () => {
    const hostPorts = new Set<string>();
    for (const { service, config } of configs) {
      expect(new URL(config.listenPeerUrls[0]).port).toBe(new URL(config.initialAdvertisePeerUrls[0]).port);
      const clientPort = new URL(config.listenClientUrls[0]).port;
      expect(new URL(config.advertiseClientUrls[0]).port).toBe(clientPort);
      const [hostAddress, hostPort, containerPort] = (service.ports ?? [])[0].split(':');
      expect(hostAddress).toBe('127.0.0.1');
      expect(containerPort).toBe(clientPort);
      hostPorts.add(hostPort);
      const [volume, mountPath] = (service.volumes ?? [])[0].split(':');
      expect(Object.keys(compose.volumes)).toContain(volume);
      expect(config.dataDir.startsWith(`${mountPath}/`)).toBe(true);
    }
    expect(hostPorts.size).toBe(3);
  });

  it('builds one image whose entrypoint is bin/raftkv and exposes the ports the services use', () => {
    expect(entries.filter(([, service]) => service.build !== undefined)).toHaveLength(1);
    expect(new Set(entries.map(([, service]) => service.image)).size).toBe(1);
    expect(dockerfile).toMatch(/ENTRYPOINT \["\/app\/bin\/raftkv"\]/);
    expect(dockerfile).toMatch(/EXPOSE 2379 2380/);
    expect(dockerfile).toMatch(/VOLUME \["\/var\/lib\/raftkv"\]/);
  });

  it('health-checks each container on the /health of the client port every service listens on', () => {
    const probe = /HEALTHCHECK .*CMD \["node", "-e", "fetch\('http:\/\/127\.0\.0\.1:(\d+)\/health'\)/.exec(dockerfile);
    expect(probe).not.toBeNull();
    for (const { config } of configs) expect(config.listenClientUrls.map((url) => new URL(url).port)).toContain(probe![1]);
  });
});
