// A revision: the store-wide `main` revision of a write transaction and the `sub` revision that
// orders the changes inside it (0, 1, 2, … per transaction). Both are non-negative integers below
// 2^53 (JS numbers); on disk they are 8-byte big-endian each, so byte order is revision order.

export interface Revision {
  readonly main: number;
  readonly sub: number;
}

export const REVISION_BYTES = 16;

export function compareRevisions(a: Revision, b: Revision): number {
  return a.main !== b.main ? a.main - b.main : a.sub - b.sub;
}

export function writeRevision(revision: Revision, target: Buffer, offset: number): void {
  target.writeBigUInt64BE(BigInt(revision.main), offset);
  target.writeBigUInt64BE(BigInt(revision.sub), offset + 8);
}

export function readRevision(source: Buffer, offset: number): Revision {
  return { main: Number(source.readBigUInt64BE(offset)), sub: Number(source.readBigUInt64BE(offset + 8)) };
}

export function revisionToBytes(revision: Revision): Buffer {
  const bytes = Buffer.alloc(REVISION_BYTES);
  writeRevision(revision, bytes, 0);
  return bytes;
}

export function formatRevision(revision: Revision): string {
  return `${revision.main}.${revision.sub}`;
}
