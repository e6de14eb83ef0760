// Where things are, from the compiled file's point of view (dist/bench/ → the repository root).

import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const RAFTKV_BIN = join(REPO_ROOT, 'bin', 'raftkv');
export const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');
