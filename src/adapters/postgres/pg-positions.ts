import type { StreamPosition } from '../../domain/change.ts';
import { TallyError } from '../../domain/errors.ts';
import { queryOnce, type PgQueryable } from './pg-client.ts';

/**
 * A `(partition, next_offset)` table of the positions a stage has applied, changed in the same
 * transaction as what it applied. The fence: a batch must start where the table says, else a
 * retriable `position_conflict` (another process moved them: this batch is stale).
 */
export class PgPositions {
  readonly #table: string;
  readonly #what: string;

  /** `table` is SQL-ready (schema-qualified, quoted); `what` names the stream in messages. */
  constructor(table: string, what: string) {
    this.#table = table;
    this.#what = what;
  }

  /** Locks the rows of the batch's partitions (missing ones are created at 0, so a first batch is fenced too), compares with `from`, stores `to`. */
  async advance(tx: PgQueryable, from: readonly StreamPosition[], to: readonly StreamPosition[]): Promise<void> {
    const partitions = [...new Set([...from, ...to].map((p) => p.partition))].sort((a, b) => a - b);
    if (partitions.length === 0) return;
    await tx.query(`INSERT INTO ${this.#table} (partition, next_offset) SELECT p, 0 FROM unnest($1::int4[]) AS p ON CONFLICT DO NOTHING`, [partitions]);
    const stored = await tx.query<{ partition: number; next_offset: string }>(
      `SELECT partition, next_offset FROM ${this.#table} WHERE partition = ANY($1::int4[]) ORDER BY partition FOR UPDATE`,
      [partitions],
    );
    const offsets = new Map(stored.rows.map((row) => [row.partition, Number(row.next_offset)]));
    for (const expected of from) {
      const actual = offsets.get(expected.partition) ?? 0;
      if (actual !== expected.offset) {
        throw new TallyError('position_conflict', `${this.#what}: stored position ${actual} for partition ${expected.partition}, the batch starts at ${expected.offset}`, {
          retriable: true,
        });
      }
    }
    if (to.length === 0) return;
    await tx.query(
      `INSERT INTO ${this.#table} (partition, next_offset) SELECT * FROM unnest($1::int4[], $2::int8[])
       ON CONFLICT (partition) DO UPDATE SET next_offset = excluded.next_offset`,
      [to.map((p) => p.partition), to.map((p) => p.offset)],
    );
  }

  async read(db: PgQueryable): Promise<StreamPosition[]> {
    const result = await queryOnce<{ partition: number; next_offset: string }>(db, `SELECT partition, next_offset FROM ${this.#table} WHERE next_offset > 0 ORDER BY partition`);
    return result.rows.map((row) => ({ partition: row.partition, offset: Number(row.next_offset) }));
  }
}
