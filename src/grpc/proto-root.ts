// Where the .proto files live: proto/ at the package root, found by walking up from this module,
// so it works from src/ (tests) and from dist/src/ (the built server) alike.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findProtoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'proto', 'raftpb.proto'))) return join(dir, 'proto');
  }
  throw new Error(`proto/ not found above ${fileURLToPath(import.meta.url)}`);
}

export const PROTO_ROOT = findProtoRoot();
