// The way into a RawNode's core for tests and the simulator only. A driver (src/server) works with
// RawNode's own methods; the core behind them is kept here, out of the node's public face, so that
// `raft` can become private while the scenario tests still check timers, logs and roles directly.
// Not exported from index.ts on purpose: test/architecture.test.ts forbids importing it under src/
// outside src/raft.

import type { Raft } from './raft.js';
import type { RawNode } from './rawnode.js';

const cores = new WeakMap<RawNode, Raft>();

/** Called once by RawNode's constructor; nothing else registers a core. */
export function registerCore(node: RawNode, raft: Raft): void {
  cores.set(node, raft);
}

/** The Raft state machine behind `node`, for tests and the simulator only. */
export function inspectRaft(node: RawNode): Raft {
  // Every RawNode registers in its constructor, so the lookup cannot miss.
  return cores.get(node)!;
}
