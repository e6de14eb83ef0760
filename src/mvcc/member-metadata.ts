// The member's own records kept beside the key space, in the same database: the membership list,
// the active alarms and one record per lease, each a named Buffer under an 'x:' key (codec.ts).
// They are not keys of the store (no revision, no history, invisible to ranges and watches) but
// are written with the store's persisted batches, so they are as durable as the key space and
// travel with it in a snapshot. All of them are held in memory, read whenever the store is loaded.

import type { ClassicLevel } from 'classic-level';
import { extraMetaKey, extraMetaKeyRange, extraMetaName } from './codec.js';
import type { PersistQueue } from './persist-queue.js';

export class MemberMetadata {
  constructor(
    private readonly writes: PersistQueue,
    private records = new Map<string, Buffer>(),
  ) {}

  /** Every member metadata record in `db`, by name. */
  static async read(db: ClassicLevel<Buffer, Buffer>): Promise<Map<string, Buffer>> {
    const records = new Map<string, Buffer>();
    for await (const [key, value] of db.iterator(extraMetaKeyRange)) records.set(extraMetaName(key), value);
    return records;
  }

  /** Takes `records` (read from the database) as the whole set; nothing is written. */
  replace(records: Map<string, Buffer>): void {
    this.records = records;
  }

  get(name: string): Buffer | undefined {
    return this.records.get(name);
  }

  /** The names of the records starting with `prefix`. */
  names(prefix: string): string[] {
    return [...this.records.keys()].filter((name) => name.startsWith(prefix));
  }

  /** Stores a record with the next persisted batch. */
  set(name: string, value: Buffer): void {
    this.records.set(name, value);
    this.writes.add({ type: 'put', key: extraMetaKey(name), value });
  }

  /** Removes a record with the next persisted batch. */
  delete(name: string): void {
    if (!this.records.delete(name)) return;
    this.writes.add({ type: 'del', key: extraMetaKey(name) });
  }
}
