import type { StatementSync } from 'node:sqlite';
import type { StreamPosition } from '../../domain/change.ts';
import { TallyError } from '../../domain/errors.ts';
import type { SqliteDatabase } from './sqlite-database.ts';

/**
 * A `(partition, next_offset)` table of the positions a stage has applied, changed in the same
 * transaction as what it applied. The fence: a batch must start where the table says, else a
 * retriable `position_conflict` (another consumer moved them: this batch is stale).
 */
export class SqlitePositions {
  readonly #what: string;
  readonly #read: StatementSync;
  readonly #save: StatementSync;

  /** `table` must exist (see sqlite-schema.ts); `what` names the stream in messages. */
  constructor(db: SqliteDatabase, table: 'ingest_positions' | 'counter_positions', what: string) {
    this.#what = what;
    this.#read = db.connection.prepare(`SELECT partition, next_offset FROM ${table}`);
    this.#save = db.connection.prepare(
      `INSERT INTO ${table} (partition, next_offset) VALUES (?, ?) ON CONFLICT (partition) DO UPDATE SET next_offset = excluded.next_offset`,
    );
  }

  /** Inside the caller's transaction: compares the stored positions with `from`, then stores `to`. */
  advance(from: readonly StreamPosition[], to: readonly StreamPosition[]): void {
    const stored = new Map(this.read().map((p) => [p.partition, p.offset]));
    for (const expected of from) {
      const actual = stored.get(expected.partition) ?? 0;
      if (actual !== expected.offset) {
        throw new TallyError('position_conflict', `${this.#what}: stored position ${actual} for partition ${expected.partition}, the batch starts at ${expected.offset}`, {
          retriable: true,
        });
      }
    }
    for (const { partition, offset } of to) this.#save.run(partition, offset);
  }

  read(): StreamPosition[] {
    return (this.#read.all() as { partition: number; next_offset: number }[]).map((r) => ({ partition: r.partition, offset: r.next_offset }));
  }
}
