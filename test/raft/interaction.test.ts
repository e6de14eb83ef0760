// Runs every golden-file scenario in testdata/ (see interaction/golden.ts for the format).

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InteractionEnv } from './interaction/env.js';
import { runGoldenFile } from './interaction/golden.js';

const TESTDATA = join(import.meta.dirname, 'testdata');

describe('raft interaction scenarios', () => {
  const files = readdirSync(TESTDATA).filter((file) => file.endsWith('.txt'));
  it('has scenarios', () => expect(files.length).toBeGreaterThan(0));
  for (const file of files) {
    it(file, () => {
      const env = new InteractionEnv();
      for (const result of runGoldenFile(join(TESTDATA, file), (command) => env.run(command))) {
        expect(`> ${result.command}\n${result.actual}`).toBe(`> ${result.command}\n${result.expected}`);
      }
    });
  }
});
