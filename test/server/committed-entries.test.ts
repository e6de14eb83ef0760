// Committed entries are judged from their own bytes: the same verdict on every member and replay.

import { describe, expect, it } from 'vitest';
import { ConfChangeType, encodeConfChange } from '../../src/raft/index.js';
import { readCommittedConfChange, readCommittedRequest } from '../../src/server/committed-entries.js';
import { ServerErrorCode } from '../../src/server/errors.js';
import { encodeInternalRequest, encodeMemberContext } from '../../src/server/requests.js';

const change = (type: number, peerUrls: string[]): Uint8Array =>
  encodeConfChange({ type: type as ConfChangeType, nodeId: 7, context: encodeMemberContext({ id: 7, peer_urls: peerUrls }) });

describe('committed membership changes', () => {
  it('accepts a change whose URLs the transport can dial, query and user info included', () => {
    expect(readCommittedConfChange(change(ConfChangeType.AddNode, ['http://127.0.0.1:2380'])).error).toBeNull();
    expect(readCommittedConfChange(change(ConfChangeType.AddLearnerNode, ['http://u:p@127.0.0.1:2380?x=1'])).error).toBeNull();
    expect(readCommittedConfChange(change(ConfChangeType.RemoveNode, [])).error).toBeNull();
  });

  it.each([
    ['a path', ConfChangeType.AddNode, ['http://127.0.0.1:9999/some/path']],
    ['no URL', ConfChangeType.AddLearnerNode, []],
    ['a URL that is not one', ConfChangeType.UpdateNode, ['not a url']],
  ])('refuses an add or update with %s, as BadMemberUrls', (_name, type, urls) => {
    expect(readCommittedConfChange(change(type, urls)).error?.code).toBe(ServerErrorCode.BadMemberUrls);
  });

  it('refuses bytes that do not decode, without throwing', () => {
    expect(readCommittedConfChange(Uint8Array.of(9, 0, 0, 0, 0, 0, 0, 0, 7)).error?.code).toBe(ServerErrorCode.BadRequest);
    expect(readCommittedConfChange(Uint8Array.of(0)).error?.code).toBe(ServerErrorCode.BadRequest);
    const badContext = encodeConfChange({ type: ConfChangeType.AddNode, nodeId: 7, context: Uint8Array.of(0xff, 0xff) });
    expect(readCommittedConfChange(badContext).error?.code).toBe(ServerErrorCode.BadRequest);
  });
});

describe('committed client requests', () => {
  it('decode, or are null when their bytes do not', () => {
    expect(readCommittedRequest(encodeInternalRequest({ member_id: 1, request_id: 2, compaction: { revision: 3 } }))?.compaction?.revision).toBe(3);
    expect(readCommittedRequest(Uint8Array.of(0xff, 0x01, 0x02))).toBeNull();
  });
});
