import type { CqlSession } from './cassandra-client.ts';
import { num } from './cassandra-client.ts';
import type { CassandraNames } from './cassandra-schema.ts';

/** Where ingest stands in one log partition: the next offset to apply and the recounts taken there. */
export interface IngestMark {
  readonly next: number;
  readonly recounts: number;
  /** False when the partition has no row yet. */
  readonly exists: boolean;
}

const NO_MARK: IngestMark = { next: 0, recounts: 0, exists: false };

/**
 * `ingest_positions`: per log partition, the offset up to which every event is applied to the
 * likes and its changes are in the change log (the relay's bound), and how many recounts were
 * placed at that offset. Moved only by lightweight transactions, so a stale writer is refused.
 */
export class CassandraIngestPositions {
  readonly #names: CassandraNames;
  readonly #session: () => CqlSession;

  constructor(names: CassandraNames, session: () => CqlSession) {
    this.#names = names;
    this.#session = session;
  }

  async readAll(): Promise<Map<number, IngestMark>> {
    const result = await this.#session().execute(`SELECT partition, next_offset, recounts FROM ${this.#names.ingestPositions}`);
    return new Map(result.rows.map((row) => [num(row.get('partition')), { next: num(row.get('next_offset')), recounts: num(row.get('recounts')), exists: true }]));
  }

  async read(partition: number): Promise<IngestMark> {
    const result = await this.#session().execute(`SELECT next_offset, recounts FROM ${this.#names.ingestPositions} WHERE partition = ?`, [partition]);
    const row = result.rows[0];
    return row === undefined ? NO_MARK : { next: num(row.get('next_offset')), recounts: num(row.get('recounts')), exists: true };
  }

  /** Moves a partition from `from` to `to`; false when it does not stand at `from`. */
  async advance(partition: number, from: number, to: number): Promise<boolean> {
    const session = this.#session();
    if (from === 0) {
      const inserted = await session.execute(`INSERT INTO ${this.#names.ingestPositions} (partition, next_offset, recounts) VALUES (?, ?, 0) IF NOT EXISTS`, [partition, BigInt(to)]);
      if (inserted.wasApplied()) return true;
    }
    const updated = await session.execute(`UPDATE ${this.#names.ingestPositions} SET next_offset = ? WHERE partition = ? IF next_offset = ?`, [BigInt(to), partition, BigInt(from)]);
    return updated.wasApplied();
  }

  /** Records one more recount at `mark`; false when the partition moved meanwhile. */
  async addRecount(partition: number, mark: IngestMark): Promise<boolean> {
    const session = this.#session();
    if (!mark.exists) {
      return (await session.execute(`INSERT INTO ${this.#names.ingestPositions} (partition, next_offset, recounts) VALUES (?, 0, 1) IF NOT EXISTS`, [partition])).wasApplied();
    }
    const updated = await session.execute(`UPDATE ${this.#names.ingestPositions} SET recounts = ? WHERE partition = ? IF next_offset = ? AND recounts = ?`, [
      mark.recounts + 1,
      partition,
      BigInt(mark.next),
      mark.recounts,
    ]);
    return updated.wasApplied();
  }
}
