// The rooms of src/ and the rules between them, checked on the source text.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
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

/**
 * The rooms each room of src/ may import from, besides its own files: docs/ARCHITECTURE.md's
 * "Rooms" table, row for row. The leaves (failpoints, bytes, grpc) import nothing and every room
 * but raft may import them; so does metrics, which every room but raft and raftpb may import.
 */
const ROOM_IMPORTS: Readonly<Record<string, readonly string[]>> = {
  cli: ['api', 'server', 'metrics', 'failpoints', 'bytes', 'grpc'],
  api: ['server', 'metrics', 'failpoints', 'bytes', 'grpc'],
  server: ['raft', 'storage', 'mvcc', 'lease', 'transport', 'metrics', 'failpoints', 'bytes', 'grpc'],
  storage: ['raftpb', 'raft', 'metrics', 'failpoints', 'bytes', 'grpc'],
  transport: ['raftpb', 'raft', 'metrics', 'failpoints', 'bytes', 'grpc'],
  raftpb: ['raft', 'failpoints', 'bytes', 'grpc'],
  mvcc: ['metrics', 'failpoints', 'bytes', 'grpc'],
  lease: ['metrics', 'failpoints', 'bytes', 'grpc'],
  raft: [],
  metrics: [],
  failpoints: [],
  bytes: [],
  grpc: [],
};

/** Every .ts file under src/, with its path relative to src/ ('/'-separated). */
function allSources(): Array<{ file: string; text: string }> {
  return readdirSync(SRC_DIR, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => ({ file: file.split(sep).join('/'), text: readFileSync(join(SRC_DIR, file), 'utf8') }));
}

/** A file's room: the first folder of its path under src/ (undefined for a file directly in src/). */
function roomOf(pathUnderSrc: string): string | undefined {
  const slash = pathUnderSrc.indexOf('/');
  return slash === -1 ? undefined : pathUnderSrc.slice(0, slash);
}

/** Each relative import of `file` that leaves its room, with the room it reaches (or '..' outside src/). */
function crossRoomImportsOf(file: string, text: string): Array<{ specifier: string; target: string; targetRoom: string }> {
  return specifiersOf(text)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => {
      const target = relative(SRC_DIR, join(SRC_DIR, dirname(file), specifier)).split(sep).join('/');
      return { specifier, target, targetRoom: target.startsWith('..') ? '..' : (roomOf(target) ?? '.') };
    })
    .filter(({ targetRoom }) => targetRoom !== roomOf(file));
}

describe('rooms import only the rooms docs/ARCHITECTURE.md allows them', () => {
  it('every file under src/ lives in a room of the table', () => {
    for (const { file } of allSources()) expect(Object.keys(ROOM_IMPORTS), `${file} is in no room of ROOM_IMPORTS`).toContain(roomOf(file));
  });

  it('every relative import stays in its room or reaches a room the table allows', () => {
    const violations: string[] = [];
    for (const { file, text } of allSources()) {
      const allowed = ROOM_IMPORTS[roomOf(file) ?? ''] ?? [];
      for (const { specifier, target, targetRoom } of crossRoomImportsOf(file, text)) {
        if (!allowed.includes(targetRoom)) violations.push(`${file} imports ${specifier} (${target}): ${roomOf(file)} → ${targetRoom === '..' ? 'outside src/' : targetRoom} is not allowed`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('has files to check: every room of the table exists, and rooms import one another', () => {
    const sources = allSources();
    for (const room of Object.keys(ROOM_IMPORTS)) expect(sources.some(({ file }) => roomOf(file) === room), `no files in src/${room}`).toBe(true);
    const crossRoomImports = sources.flatMap(({ file, text }) => crossRoomImportsOf(file, text));
    expect(crossRoomImports.length).toBeGreaterThan(50);
  });
});
