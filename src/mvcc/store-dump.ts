// A store's database as a byte stream, for a follower's snapshot: every key/value pair of the
// LevelDB as of one consistent view, framed, then an end marker and a sha256 of everything before
// it (as etcd ends its db snapshot with a sha256). It copies whatever keys the store has, so it
// does not care how the store lays out its records. Neither side ever holds the whole dump:
//
// - StoreDumpSource reads the pairs through a LevelDB iterator (which reads from an implicit
//   snapshot of the database taken when it was created) a chunk at a time, when asked.
// - StoreDumpStager parses chunks as they arrive and writes the pairs into a fresh staging
//   database in bounded batches; finish() checks the checksum and the meta record before the
//   staged copy may be installed (store-directory.ts).
//
// Layout: per pair [key length u32][value length u32][key][value] (big-endian lengths); then
// [0xFFFFFFFF][sha256 of every pair's bytes, 32 bytes]. Nothing may follow.

import { createHash, type Hash } from 'node:crypto';
import { open as openFile, rm } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { META_KEY, decodeMeta } from './codec.js';
import { DumpBehindSnapshotError, DumpChecksumMismatchError, DumpMalformedError, DumpTruncatedError, assert } from './errors.js';

const PAIR_HEADER_BYTES = 8;
const END_MARKER = 0xffffffff;
const SHA256_BYTES = 32;
const END_BYTES = 4 + SHA256_BYTES;
/** No key or value the store writes comes near this; a bigger length is a damaged stream. */
export const DUMP_PAIR_BYTES_MAX = 64 * 1024 * 1024;
/** Pairs asked of the iterator at once; its highWaterMarkBytes bounds the bytes. */
const ITERATOR_BATCH_PAIRS = 1000;
/** Staged pairs written to the staging database in batches of about this many bytes. */
export const STAGE_BATCH_BYTES_MAX = 4 * 1024 * 1024;
/**
 * The staging database's memtable. LevelDB's default of 4 MiB fills with every batch and stalls the
 * next write until it is flushed; 32 MiB took staging a 332 MB dump in-process from 1.33 s to
 * 1.18 s (its writes from 0.81 s to 0.52 s). The staged copy is reopened with the store's own
 * options once installed, so this memory is spent only while a snapshot arrives.
 */
const STAGE_WRITE_BUFFER_BYTES = 32 * 1024 * 1024;

/** What the source needs of a classic-level iterator. */
export interface PairIterator {
  nextv(size: number): Promise<Array<[Buffer, Buffer]>>;
  close(): Promise<void>;
}

/** The sending side: chunks of at most `chunkBytes`, read from `iterator` only when asked. */
export class StoreDumpSource {
  private readonly hash: Hash = createHash('sha256');
  /** The pairs of the iterator's last batch, and the next one to copy out. */
  private pairs: Array<[Buffer, Buffer]> = [];
  private pairIndex = 0;
  /** How much of the next pair's framing (header, key, value) went out in earlier chunks. */
  private pairOffset = 0;
  private readonly pairHeader = Buffer.allocUnsafe(PAIR_HEADER_BYTES);
  private exhausted = false;
  private endSent = false;
  private closed = false;

  constructor(
    private readonly iterator: PairIterator,
    private readonly chunkBytes: number,
  ) {
    assert(chunkBytes >= END_BYTES, `a store dump chunk of ${chunkBytes} bytes cannot hold the end marker`);
  }

  /**
   * The next chunk; null once the end marker and checksum went out. Pairs are copied straight into
   * the chunk (a pair may straddle two chunks), so each read costs one allocation however small
   * the pairs are.
   */
  async read(): Promise<Buffer | null> {
    if (this.endSent) return null;
    const out = Buffer.allocUnsafe(this.chunkBytes);
    let filled = 0;
    while (filled < out.byteLength) {
      if (this.pairIndex === this.pairs.length) {
        if (this.exhausted) break;
        await this.nextPairs();
        continue;
      }
      filled = this.copyPairOut(out, filled);
    }
    this.hash.update(out.subarray(0, filled));
    if (this.exhausted && this.pairIndex === this.pairs.length && out.byteLength - filled >= END_BYTES) {
      out.writeUInt32BE(END_MARKER, filled);
      this.hash.digest().copy(out, filled + 4);
      filled += END_BYTES;
      this.endSent = true;
    }
    return filled === out.byteLength ? out : out.subarray(0, filled);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.iterator.close().catch(() => {});
  }

  private async nextPairs(): Promise<void> {
    assert(!this.closed, 'a store dump read after close()');
    this.pairs = await this.iterator.nextv(ITERATOR_BATCH_PAIRS);
    this.pairIndex = 0;
    if (this.pairs.length === 0) this.exhausted = true;
  }

  /** Copies as much of the next pair's framing as fits at `filled`; returns the new fill. */
  private copyPairOut(out: Buffer, filled: number): number {
    const [key, value] = this.pairs[this.pairIndex]!;
    this.pairHeader.writeUInt32BE(key.byteLength, 0);
    this.pairHeader.writeUInt32BE(value.byteLength, 4);
    let pieceStart = 0;
    for (const piece of [this.pairHeader, key, value]) {
      const pieceEnd = pieceStart + piece.byteLength;
      if (this.pairOffset < pieceEnd) {
        const from = this.pairOffset - pieceStart;
        const copied = piece.copy(out, filled, from, Math.min(piece.byteLength, from + out.byteLength - filled));
        filled += copied;
        this.pairOffset += copied;
        if (this.pairOffset < pieceEnd) return filled; // the chunk is full
      }
      pieceStart = pieceEnd;
    }
    this.pairIndex += 1;
    this.pairOffset = 0;
    return filled;
  }
}

type Batch = ReturnType<ClassicLevel<Buffer, Buffer>['batch']>;

/** The receiving side: a staging database filled from dump chunks, checked before it counts. */
export class StoreDumpStager {
  private readonly hash: Hash = createHash('sha256');
  private leftover: Buffer = Buffer.alloc(0);
  private batch: Batch;
  private batchBytes = 0;
  /**
   * The full batch LevelDB is writing, if any: the next one fills while it is written (the write
   * takes about two thirds of staging's time; waiting for it before parsing on was most of the
   * staging cost). At most one is in flight.
   */
  private writing: Promise<void> | null = null;
  private receivedBytes = 0;
  private ended = false;
  private open = true;

  private constructor(
    readonly directory: string,
    private readonly db: ClassicLevel<Buffer, Buffer>,
    private readonly batchBytesMax: number,
  ) {
    this.batch = db.batch();
  }

  /** A new, empty staging database in `directory` (which must not exist). */
  static async create(directory: string, batchBytesMax = STAGE_BATCH_BYTES_MAX): Promise<StoreDumpStager> {
    const db = new ClassicLevel<Buffer, Buffer>(directory, { keyEncoding: 'buffer', valueEncoding: 'buffer', errorIfExists: true, writeBufferSize: STAGE_WRITE_BUFFER_BYTES });
    await db.open();
    return new StoreDumpStager(directory, db, batchBytesMax);
  }

  /** Parses `chunk`; resolves once its pairs are queued, after writing a batch if one filled up. */
  async write(chunk: Uint8Array): Promise<void> {
    this.receivedBytes += chunk.byteLength;
    const incoming = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const bytes = this.leftover.byteLength === 0 ? incoming : Buffer.concat([this.leftover, incoming]);
    let offset = 0;
    while (bytes.byteLength - offset >= 4) {
      if (this.ended) throw new DumpMalformedError('bytes after the end marker');
      const keyBytes = bytes.readUInt32BE(offset);
      if (keyBytes === END_MARKER) {
        if (bytes.byteLength - offset < END_BYTES) break;
        const expected = bytes.subarray(offset + 4, offset + 4 + SHA256_BYTES);
        if (!this.hash.digest().equals(expected)) throw new DumpChecksumMismatchError();
        this.ended = true;
        offset += END_BYTES;
        continue;
      }
      if (bytes.byteLength - offset < PAIR_HEADER_BYTES) break;
      const valueBytes = bytes.readUInt32BE(offset + 4);
      if (keyBytes > DUMP_PAIR_BYTES_MAX || valueBytes > DUMP_PAIR_BYTES_MAX) throw new DumpMalformedError(`a pair of ${keyBytes} + ${valueBytes} bytes`);
      const pairBytes = PAIR_HEADER_BYTES + keyBytes + valueBytes;
      if (bytes.byteLength - offset < pairBytes) break;
      const pair = bytes.subarray(offset, offset + pairBytes);
      this.hash.update(pair);
      // No copies needed: a classic-level batch copies what it is given when put() is called.
      this.batch.put(pair.subarray(PAIR_HEADER_BYTES, PAIR_HEADER_BYTES + keyBytes), pair.subarray(PAIR_HEADER_BYTES + keyBytes));
      this.batchBytes += pairBytes;
      offset += pairBytes;
    }
    if (this.ended && offset < bytes.byteLength) throw new DumpMalformedError('bytes after the end marker');
    // What is left is part of one pair: keep a copy, not a view pinning the whole chunk.
    this.leftover = offset === bytes.byteLength ? Buffer.alloc(0) : Buffer.from(bytes.subarray(offset));
    if (this.batchBytes >= this.batchBytesMax) await this.startBatchWrite();
  }

  /**
   * The whole dump arrived: checks it ended with a matching checksum and that its meta record has
   * an applied index at or past `snapshotIndex`, makes it durable and closes the staging database.
   * Throws (leaving the directory for abort() to remove) otherwise.
   */
  async finish(snapshotIndex: number): Promise<{ appliedIndex: number }> {
    if (!this.ended || this.leftover.byteLength > 0) throw new DumpTruncatedError(this.receivedBytes);
    await this.writtenBatches();
    await this.batch.write({ sync: true });
    const meta = await this.db.get(META_KEY);
    const appliedIndex = meta === undefined ? null : decodeMeta(meta).appliedIndex;
    if (appliedIndex === null || appliedIndex < snapshotIndex) throw new DumpBehindSnapshotError(appliedIndex, snapshotIndex);
    await this.close();
    await syncDirectory(this.directory);
    return { appliedIndex };
  }

  /** Drops the staging database: closes it and removes its directory. */
  async abort(): Promise<void> {
    await this.writtenBatches().catch(() => {});
    await this.close().catch(() => {});
    await rm(this.directory, { recursive: true, force: true });
  }

  /** Waits for the batch in flight, then starts writing the current one (without waiting for it). */
  private async startBatchWrite(): Promise<void> {
    await this.writtenBatches();
    const batch = this.batch;
    this.batch = this.db.batch();
    this.batchBytes = 0;
    this.writing = batch.write();
    // A failed write surfaces at the next startBatchWrite, finish or abort, not as unhandled now.
    this.writing.catch(() => {});
  }

  /** Resolves once the batch in flight is written; rejects if its write failed. */
  private async writtenBatches(): Promise<void> {
    const writing = this.writing;
    this.writing = null;
    if (writing !== null) await writing;
  }

  private async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await this.db.close();
  }
}

/** fsyncs a directory, so the names created or renamed in it survive a crash. */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await openFile(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
