// What every part of a member is handed, so each part's own options list only what is its own.

import type { Logger } from 'pino';
import type { RawNode } from '../raft/index.js';
import type { Proposals } from './proposals.js';
import type { ResponseHeader } from './servers.js';

export interface MemberBasics {
  readonly memberId: number;
  readonly logger: Logger;
  /** The member's consensus core (read through its views; proposals go through Proposals). */
  readonly node: RawNode;
}

/** A part that serves clients: it proposes, waits for reads, and answers with the member's header. */
export interface FrontBasics extends MemberBasics {
  readonly proposals: Proposals;
  readonly header: (revision?: number) => ResponseHeader;
  readonly linearizableBarrier: () => Promise<void>;
}
