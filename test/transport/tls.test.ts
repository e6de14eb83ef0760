import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MessageType, message } from '../../src/raft/index.js';
import { PeerTransport, TlsConfigError, type PeerTlsOptions } from '../../src/transport/index.js';
import { clientOnly, sleep, startMember, stopAll, waitFor } from './harness.js';
import { makeCertificates as makeSharedCertificates } from '../support/certificates.js';

afterEach(stopAll);

let dir: string;

function makeCertificates(name: string): { ca: string; cert: string; key: string } {
  return makeSharedCertificates(dir, name);
}

let trusted: PeerTlsOptions;
let rogue: PeerTlsOptions;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'raftkv-transport-tls-'));
  const good = makeCertificates('good');
  const bad = makeCertificates('rogue');
  trusted = { certFile: good.cert, keyFile: good.key, trustedCaFile: good.ca, clientCertAuth: true };
  // Trusts the real CA (so it accepts the server) but presents a certificate the server cannot verify.
  rogue = { certFile: bad.cert, keyFile: bad.key, trustedCaFile: good.ca };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const heartbeat = (from: number, to: number) => message({ type: MessageType.Heartbeat, from, to, term: 1, readRound: 3 });

describe('peer TLS', () => {
  it('exchanges messages between two TLS members with client certificate auth', async () => {
    const a = await startMember({ memberId: 1, tls: trusted }, 0, 'https');
    const b = await startMember({ memberId: 2, tls: trusted }, 0, 'https');
    a.transport.addPeer(2, [b.url]);
    b.transport.addPeer(1, [a.url]);
    a.transport.send([heartbeat(1, 2)]);
    b.transport.send([heartbeat(2, 1)]);
    await waitFor(() => a.received().length === 1 && b.received().length === 1, 'both heartbeats');
    expect(b.received()[0]).toMatchObject({ from: 1, to: 2, readRound: 3 });
  });

  it('a plaintext client cannot deliver to a TLS listener', async () => {
    const b = await startMember({ memberId: 2, tls: trusted }, 0, 'https');
    const plaintext = clientOnly({ memberId: 1 });
    plaintext.transport.addPeer(2, [`http://127.0.0.1:${b.port}`]);
    plaintext.transport.send([heartbeat(1, 2)]);
    await waitFor(() => plaintext.seen.unreachable.length >= 2, 'repeated failures');
    expect(b.received()).toEqual([]);
    expect(plaintext.transport.stats()[2]).toMatchObject({ connected: false, sent: 0 });
  });

  it('a client whose certificate the listener does not trust cannot deliver', async () => {
    const b = await startMember({ memberId: 2, tls: trusted }, 0, 'https');
    const untrusted = clientOnly({ memberId: 1, tls: rogue });
    untrusted.transport.addPeer(2, [b.url]);
    untrusted.transport.send([heartbeat(1, 2)]);
    await waitFor(() => untrusted.seen.unreachable.length >= 2, 'repeated failures');
    await sleep(50);
    expect(b.received()).toEqual([]);
    expect(untrusted.transport.stats()[2]!.connected).toBe(false);
  });

  it('refuses to listen on https without certificates, and clientCertAuth without a CA', async () => {
    const bare = clientOnly({ memberId: 1 });
    await expect(bare.transport.listen('https://127.0.0.1:0')).rejects.toBeInstanceOf(TlsConfigError);
    const options = { memberId: 1, clusterId: 1, onMessages() {}, onUnreachable() {}, onSnapshotStatus() {} };
    expect(() => new PeerTransport({ ...options, tls: { ...trusted, trustedCaFile: undefined } })).toThrow(TlsConfigError);
    expect(() => new PeerTransport({ ...options, tls: { ...trusted, keyFile: join(dir, 'missing.key') } })).toThrow(TlsConfigError);
  });
});
