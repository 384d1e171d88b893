import type { StatementSync } from 'node:sqlite';
import type { PositionedChange, StreamPosition } from '../../domain/change.ts';
import type { ChangeBatch, ChangeFeed, ChangeReader, ChangeReaderOptions } from '../../ports/change-feed.ts';
import { decodeChanges } from './sqlite-codec.ts';
import type { SqliteDatabase } from './sqlite-database.ts';
import { CHANGES_TOPIC } from './sqlite-likes-store.ts';

/** Released records are deleted in chunks, not after every batch. */
const PRUNE_EVERY_RECORDS = 512;

/**
 * The embedded change feed: the `change_records` table the likes store writes in the same
 * transaction as the rows. One partition; a record's position is its sequence number.
 */
export class SqliteChangeFeed implements ChangeFeed {
  readonly #db: SqliteDatabase;

  constructor(db: SqliteDatabase) {
    this.#db = db;
  }

  async init(): Promise<void> {}
  async close(): Promise<void> {}

  async reader(options: ChangeReaderOptions): Promise<ChangeReader> {
    const resume = await options.resumeFrom();
    const next = resume.find((p) => p.partition === 0)?.offset ?? 0;
    return new SqliteChangeReader(this.#db, options, next);
  }
}

class SqliteChangeReader implements ChangeReader {
  readonly #db: SqliteDatabase;
  readonly #options: ChangeReaderOptions;
  readonly #read: StatementSync;
  readonly #prune: StatementSync;
  #next: number;
  #prunedBelow = 0;
  #closed = false;

  constructor(db: SqliteDatabase, options: ChangeReaderOptions, next: number) {
    this.#db = db;
    this.#options = options;
    this.#next = next;
    this.#read = db.connection.prepare('SELECT seq, payload FROM change_records WHERE seq >= ? ORDER BY seq LIMIT 256');
    this.#prune = db.connection.prepare('DELETE FROM change_records WHERE seq < ?');
  }

  async poll(idleMs: number): Promise<ChangeBatch> {
    let batch = this.#readAvailable();
    if (batch.changes.length === 0 && !this.#closed) {
      await this.#db.waitFor(CHANGES_TOPIC, idleMs);
      if (!this.#closed) batch = this.#readAvailable();
    }
    return batch;
  }

  #readAvailable(): ChangeBatch {
    const changes: PositionedChange[] = [];
    let next = this.#next;
    const rows = this.#read.all(next) as { seq: number; payload: string }[];
    for (const row of rows) {
      const decoded = this.#db.recentChanges.take(String(row.seq)) ?? decodeChanges(row.payload);
      for (const change of decoded) changes.push({ change, partition: 0, offset: row.seq });
      next = row.seq + 1;
      if (changes.length >= this.#options.maxChanges) break;
    }
    this.#next = next;
    const positions: StreamPosition[] = rows.length === 0 ? [] : [{ partition: 0, offset: next }];
    return { changes, positions };
  }

  async release(positions: readonly StreamPosition[]): Promise<void> {
    const below = positions.find((p) => p.partition === 0)?.offset;
    if (below === undefined || below - this.#prunedBelow < PRUNE_EVERY_RECORDS) return;
    this.#db.transaction('crash-safe', () => this.#prune.run(below));
    this.#prunedBelow = below;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#db.notify(CHANGES_TOPIC);
  }
}
