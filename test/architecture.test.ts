// The rooms of src/ and the rules between them, checked on the source text.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const RAFT_DIR = join(import.meta.dirname, '..', 'src', 'raft');

function raftSources(): Array<{ file: string; text: string }> {
  return readdirSync(RAFT_DIR)
    .filter((file) => file.endsWith('.ts'))
    .map((file) => ({ file, text: readFileSync(join(RAFT_DIR, file), 'utf8') }));
}

function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
}

describe('src/raft is a pure state machine', () => {
  it('imports only its own files', () => {
    for (const { file, text } of raftSources()) {
      const specifiers = [...text.matchAll(/^\s*(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)].map((match) => match[1]);
      for (const specifier of specifiers) expect(specifier, `${file} imports ${specifier}`).toMatch(/^\.\/[\w-]+\.js$/);
    }
  });

  it('reads no clock, no randomness, no environment and does no I/O', () => {
    const forbidden = [/\bDate\b/, /Math\.random/, /\bperformance\./, /\bsetTimeout\b/, /\bsetInterval\b/, /\bsetImmediate\b/, /\bprocess\./, /\brequire\(/, /\bimport\(/, /\bcrypto\b/, /\bconsole\./];
    for (const { file, text } of raftSources()) {
      const code = withoutComments(text);
      for (const pattern of forbidden) expect(code, `${file} uses ${pattern}`).not.toMatch(pattern);
    }
  });

  it('has files to check', () => {
    expect(raftSources().length).toBeGreaterThan(10);
  });
});
