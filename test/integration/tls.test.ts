// TLS end to end: members talk to each other over TLS with client certificates, and a client
// must present a certificate signed by the trusted CA.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { services } from '../../src/api/protos.js';
import { makeCertificates } from '../support/certificates.js';
import { TestCluster, call } from './harness.js';

const dir = mkdtempSync(join(tmpdir(), 'raftkv-it-tls-'));
const trusted = makeCertificates(dir, 'cluster');
const stranger = makeCertificates(dir, 'stranger');
let cluster: TestCluster | null = null;

afterAll(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('TLS', () => {
  it('forms a cluster over peer TLS, serves clients with a trusted certificate and refuses others', async () => {
    cluster = await TestCluster.start(3, [], trusted);
    const [m1, m2] = cluster.members;
    await call(cluster.client(m1), 'Put', { key: Buffer.from('secure'), value: Buffer.from('yes') });
    const response = await call(cluster.client(m2), 'Range', { key: Buffer.from('secure') });
    expect(response.kvs[0].value.toString()).toBe('yes');

    for (const certificate of ['none', stranger] as const) {
      const client = new services.KV(`127.0.0.1:${m1.clientPort}`, cluster.clientCredentials(certificate));
      await expect(call(client, 'Range', { key: Buffer.from('secure') }, 3000)).rejects.toMatchObject({ code: 14 });
      client.close();
    }
  }, 60_000);
});
