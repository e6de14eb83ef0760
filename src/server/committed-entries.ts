// Reading a committed entry before it is applied. A committed entry that cannot apply
// must not stop a member: every member would stop on it, and again on every restart, as they replay
// it. So a membership change is judged here from its own bytes alone, never from the membership registry (a
// member replaying its log after a restart holds a registry that is already ahead): every member,
// and every replay, reaches the same verdict. An entry judged unfit changes nothing, neither Raft's
// configuration nor the registry, and its proposer is answered with the error, as etcd answers a
// change it refuses at apply.

import { ConfChangeType, decodeConfChange, type ConfChange } from '../raft/index.js';
import { isValidPeerUrl } from '../grpc/peer-url.js';
import { ServerError, ServerErrorCode } from './errors.js';
import { decodeInternalRequest, decodeMemberContext, type InternalRequest, type MemberContext } from './requests.js';

export type CommittedConfChange =
  | { readonly change: ConfChange; readonly context: MemberContext | null; readonly error: null }
  | { readonly change: ConfChange | null; readonly context: MemberContext | null; readonly error: ServerError };

/** Never throws: whatever the bytes, a verdict. */
export function readCommittedConfChange(data: Uint8Array): CommittedConfChange {
  let change: ConfChange;
  try {
    change = decodeConfChange(data);
  } catch (error) {
    return { change: null, context: null, error: unfit('the membership change cannot be decoded', error) };
  }
  let context: MemberContext | null = null;
  if (change.context.byteLength > 0) {
    try {
      context = decodeMemberContext(change.context);
    } catch (error) {
      return { change, context: null, error: unfit('the membership change carries an undecodable context', error) };
    }
  }
  if (change.type !== ConfChangeType.RemoveNode) {
    // Adding, promoting or updating a member names how to reach it: URLs the transport can dial.
    const peerUrls = context?.peer_urls ?? [];
    if (peerUrls.length === 0 || !peerUrls.every(isValidPeerUrl)) {
      return { change, context, error: new ServerError(ServerErrorCode.BadMemberUrls, 'etcdserver: given member URLs are invalid') };
    }
  }
  return { change, context, error: null };
}

function unfit(reason: string, cause: unknown): ServerError {
  return new ServerError(ServerErrorCode.BadRequest, `etcdserver: ${reason}`, { cause });
}

/** A committed client request, or null when its bytes do not decode (alike on every member). */
export function readCommittedRequest(data: Uint8Array): InternalRequest | null {
  try {
    return decodeInternalRequest(data);
  } catch {
    return null;
  }
}
