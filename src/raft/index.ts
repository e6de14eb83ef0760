// The public face of the consensus core. It imports nothing from the rest of src/.

export * from './types.js';
export * from './errors.js';
export * from './confchange.js';
export { SeededRandom, type RandomSource } from './random.js';
export { MemoryStorage, type Storage, type InitialState } from './storage.js';
export { RawNode, type Ready, type SoftState, type Status } from './rawnode.js';
export { defaultLimits, type Config, type Logger } from './raft.js';
