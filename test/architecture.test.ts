// The rooms of src/ and the rules between them, checked on the source text.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC_DIR = join(import.meta.dirname, '..', 'src');
const RAFT_DIR = join(SRC_DIR, 'raft');

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

/** Every .ts file under src/ outside src/raft, with its path relative to src/. */
function sourcesOutsideRaft(): Array<{ file: string; text: string }> {
  return readdirSync(SRC_DIR, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.startsWith(`raft/`))
    .map((file) => ({ file, text: readFileSync(join(SRC_DIR, file), 'utf8') }));
}

/** The module specifiers a file names: import/export ... from, bare imports and import() types. */
function specifiersOf(text: string): string[] {
  const code = withoutComments(text);
  const patterns = [/\bfrom\s+['"]([^'"]+)['"]/g, /^\s*import\s+['"]([^'"]+)['"]/gm, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g];
  return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((match) => match[1]));
}

/** The files of src/raft that `file` (relative to src/) imports, as paths relative to src/. */
function raftImportsOf(file: string, text: string): string[] {
  return specifiersOf(text)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => relative(SRC_DIR, join(SRC_DIR, dirname(file), specifier)))
    .filter((target) => target.startsWith('raft/'));
}

describe('the rest of src/ sees only the public face of src/raft', () => {
  it('nothing outside src/raft imports raft/inspect.js (the core behind a RawNode is for tests)', () => {
    for (const { file, text } of sourcesOutsideRaft()) {
      expect(raftImportsOf(file, text), `${file} imports raft/inspect.js`).not.toContain('raft/inspect.js');
    }
  });

  it('code outside src/raft imports the core only through raft/index.js', () => {
    for (const { file, text } of sourcesOutsideRaft()) {
      for (const target of raftImportsOf(file, text)) expect(target, `${file} imports ${target}`).toBe('raft/index.js');
    }
  });

  it('has files to check, some of them importing the core', () => {
    const importers = sourcesOutsideRaft().filter(({ file, text }) => raftImportsOf(file, text).length > 0);
    expect(importers.length).toBeGreaterThan(10);
  });
});
