// Golden-file scenarios: each file in testdata/ is a series of blocks, separated by blank lines:
//
//   # optional comment lines
//   > command args
//   the output the command must print
//
// Run with UPDATE_GOLDEN=1 to rewrite the outputs from the current code (then read the diff!).

import { readFileSync, writeFileSync } from 'node:fs';

export interface Block {
  readonly comments: string[];
  readonly command: string;
  readonly expected: string;
}

export function parseGolden(text: string): Block[] {
  const blocks: Block[] = [];
  for (const chunk of text.split(/\n\s*\n/)) {
    const lines = chunk.split('\n').filter((line) => line.length > 0);
    if (lines.length === 0) continue;
    const comments = lines.filter((line) => line.startsWith('#'));
    const rest = lines.filter((line) => !line.startsWith('#'));
    if (rest.length === 0) {
      blocks.push({ comments, command: '', expected: '' });
      continue;
    }
    if (!rest[0].startsWith('> ')) throw new Error(`a block must start with "> command": ${rest[0]}`);
    blocks.push({ comments, command: rest[0].slice(2), expected: rest.slice(1).join('\n') });
  }
  return blocks;
}

export function formatGolden(blocks: ReadonlyArray<Block & { actual: string }>): string {
  return (
    blocks
      .map((block) => [...block.comments, ...(block.command ? [`> ${block.command}`, block.actual] : [])].filter((line) => line.length > 0).join('\n'))
      .join('\n\n') + '\n'
  );
}

export function runGoldenFile(path: string, execute: (command: string) => string): Array<{ command: string; expected: string; actual: string }> {
  const blocks = parseGolden(readFileSync(path, 'utf8'));
  const results = blocks.map((block) => ({ ...block, actual: block.command ? execute(block.command) || 'ok' : '' }));
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, formatGolden(results));
  return results.filter((result) => result.command !== '');
}
