// The simulated application: it keeps no data, only a running fingerprint of everything applied,
// which is exactly what state machine safety compares across members.

import type { ConfState, Entry } from '../../src/raft/index.js';
import { hashBytes, hashChain } from './hash.js';

const IMAGE_BYTES = 16;

export class SimStateMachine {
  appliedIndex: number;
  chain: number;
  confState: ConfState;

  constructor(appliedIndex: number, chain: number, confState: ConfState) {
    this.appliedIndex = appliedIndex;
    this.chain = chain;
    this.confState = confState;
  }

  apply(entry: Entry): void {
    this.chain = hashChain(this.chain, entry.index, hashBytes(entry.data));
    this.appliedIndex = entry.index;
  }

  image(): Uint8Array {
    const bytes = new Uint8Array(IMAGE_BYTES);
    const view = new DataView(bytes.buffer);
    view.setFloat64(0, this.appliedIndex);
    view.setFloat64(8, this.chain);
    return bytes;
  }

  static fromImage(data: Uint8Array, confState: ConfState): SimStateMachine {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return new SimStateMachine(view.getFloat64(0), view.getFloat64(8), confState);
  }
}

/** The fingerprint every member starts from at the bootstrap snapshot (index 1). */
export const BOOTSTRAP_CHAIN = hashChain(0, 1);
