// Failpoints: only known names, typed reads, and the loopback control endpoint a harness uses.

import { afterEach, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { Failpoint, Failpoints, UnknownFailpointError } from '../../src/failpoints/failpoints.js';
import { startFailpointServer } from '../../src/cli/failpoint-server.js';

describe('Failpoints', () => {
  it('starts empty: every failpoint off', () => {
    const failpoints = Failpoints.fromJson(undefined);
    expect(failpoints.enabled(Failpoint.UnsafeLocalReads)).toBe(false);
    expect(failpoints.number(Failpoint.WalSaveDelayMs)).toBe(0);
    expect(failpoints.map(Failpoint.PeerDialMap).size).toBe(0);
  });

  it('reads initial values from JSON, typed', () => {
    const failpoints = Failpoints.fromJson(JSON.stringify({ 'unsafe-local-reads': true, 'wal-save-delay-ms': 150, 'peer-dial-map': 'http://a:1=http://b:2,http://c:3=http://d:4' }));
    expect(failpoints.enabled(Failpoint.UnsafeLocalReads)).toBe(true);
    expect(failpoints.number(Failpoint.WalSaveDelayMs)).toBe(150);
    expect(failpoints.map(Failpoint.PeerDialMap)).toEqual(new Map([['http://a:1', 'http://b:2'], ['http://c:3', 'http://d:4']]));
  });

  it('refuses unknown names, and treats "false", "0" and non-numbers as off', () => {
    expect(() => Failpoints.fromJson('{"no-such-thing":1}')).toThrow(UnknownFailpointError);
    const failpoints = new Failpoints();
    failpoints.set(Failpoint.UnsafeLocalReads, 'false');
    failpoints.set(Failpoint.WalSaveDelayMs, 'soon');
    expect(failpoints.enabled(Failpoint.UnsafeLocalReads)).toBe(false);
    expect(failpoints.number(Failpoint.WalSaveDelayMs)).toBe(0);
  });
});

describe('the failpoint control endpoint', () => {
  let server: Server | null = null;
  afterEach(() => {
    server?.close();
    server = null;
  });

  it('sets, lists and clears failpoints over HTTP; an unknown name is 404', async () => {
    const failpoints = new Failpoints();
    server = await startFailpointServer('127.0.0.1:0', failpoints);
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/wal-save-delay-ms`, { method: 'PUT', body: '200' })).status).toBe(200);
    expect(failpoints.number(Failpoint.WalSaveDelayMs)).toBe(200);
    expect(await (await fetch(`${base}/`)).json()).toEqual({ 'wal-save-delay-ms': '200' });
    expect((await fetch(`${base}/wal-save-delay-ms`, { method: 'DELETE' })).status).toBe(200);
    expect(failpoints.number(Failpoint.WalSaveDelayMs)).toBe(0);
    expect((await fetch(`${base}/bogus`, { method: 'PUT', body: '1' })).status).toBe(404);
  });

  it('listens on loopback only', async () => {
    await expect(startFailpointServer('0.0.0.0:0', new Failpoints())).rejects.toThrow(/loopback/);
  });
});
