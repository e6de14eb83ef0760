// The peer listener's HTTP/2 receive windows: wide enough that a snapshot is not sent 64 KiB per
// round trip (src/transport/flow-control.ts).

import { connect } from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { PEER_CONNECTION_WINDOW_BYTES, PEER_STREAM_WINDOW_BYTES } from '../../src/transport/flow-control.js';
import { startMember, stopAll } from './harness.js';

afterEach(stopAll);

describe('peer listener flow control', () => {
  it('advertises a stream window of PEER_STREAM_WINDOW_BYTES and opens its connection window to PEER_CONNECTION_WINDOW_BYTES', async () => {
    const member = await startMember({ memberId: 1 });
    const session = connect(member.url);
    try {
      await new Promise<void>((resolve, reject) => {
        session.once('remoteSettings', () => resolve());
        session.once('error', reject);
      });
      expect(session.remoteSettings.initialWindowSize).toBe(PEER_STREAM_WINDOW_BYTES);
      // The connection window grows by a WINDOW_UPDATE right after the settings.
      for (let i = 0; i < 100 && (session.state.remoteWindowSize ?? 0) < PEER_CONNECTION_WINDOW_BYTES; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(session.state.remoteWindowSize).toBe(PEER_CONNECTION_WINDOW_BYTES);
      expect(PEER_STREAM_WINDOW_BYTES).toBeGreaterThan(65_535);
    } finally {
      session.destroy();
    }
  });
});
