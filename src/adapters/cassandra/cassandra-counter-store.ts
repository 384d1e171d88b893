import { randomUUID } from 'node:crypto';
import type { StreamPosition } from '../../domain/change.ts';
import { applyUpdate } from '../../domain/aggregate.ts';
import { TallyError } from '../../domain/errors.ts';
import type { CounterBatch, CounterStore, VersionedCount } from '../../ports/counter-store.ts';
import type { CassandraConnection, CqlSession } from './cassandra-client.ts';
import { connectCassandra, mapLimit, num, POSITION_TIMESTAMP_BASE, str } from './cassandra-client.ts';
import { cassandraNames, type CassandraNames } from './cassandra-schema.ts';

/** One post's write of a batch: from version `from` to `count` at version `from + 1`. */
interface CountWrite {
  readonly p: string;
  readonly c: number;
  readonly from: number;
}

/** A batch as stored before it is applied, so that anyone can finish it. */
interface StoredBatch {
  readonly to: readonly StreamPosition[];
  readonly writes: readonly CountWrite[];
}

interface PositionRow {
  readonly next: number;
  readonly pending: string | undefined;
  readonly exists: boolean;
}

/**
 * The Cassandra counter store: `counts (post_id PRIMARY KEY, count, version)` and the applied
 * change-feed positions in `counter_positions`. Without multi-partition transactions a batch is
 * applied in three durable steps:
 *
 * 1. its result (each post's new count and the version it replaces, computed from a read made
 *    while the positions stand at `from` with no batch pending) is stored in `counter_batches`,
 *    state `claiming`;
 * 2. each partition of the batch is claimed by a lightweight transaction: `pending = id IF
 *    next_offset = from AND pending = null` (the exactly-once fence; a stale counter fails here),
 *    then the batch moves to `writing` (`IF state = 'claiming'`: a finisher may have aborted it);
 * 3. the counts are written with `USING TIMESTAMP version`, so writing them again (a finisher
 *    after a crash, or a late duplicate) is harmless and an older write never beats a newer one;
 *    then each partition moves to `to` and drops the claim (`IF pending = id`).
 *
 * A batch found pending (its counter died between 2 and 3) is finished by the next `apply`, and
 * its counts are returned with the next batch this store applies, for the cache.
 */
export class CassandraCounterStore implements CounterStore {
  readonly #options: CassandraConnection;
  readonly #names: CassandraNames;
  #session: CqlSession | undefined;
  /** Counts of batches finished on a dead counter's behalf, not yet handed to the caller. */
  #finished: VersionedCount[] = [];

  constructor(options: CassandraConnection) {
    this.#options = options;
    this.#names = cassandraNames(options.keyspace);
  }

  async init(): Promise<void> {
    this.#session ??= await connectCassandra(this.#options, `tally-counter-${this.#options.keyspace}`);
  }

  async close(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    await session?.shutdown();
  }

  get #db(): CqlSession {
    if (this.#session === undefined) throw new TallyError('not_ready', 'the Cassandra counter store is not initialised', { retriable: true });
    return this.#session;
  }

  async apply(batch: CounterBatch): Promise<VersionedCount[]> {
    const from = new Map(batch.from.map((p) => [p.partition, p.offset]));
    const partitions = [...new Set([...from.keys(), ...batch.to.map((p) => p.partition)])].sort((a, b) => a - b);
    let stored = await this.#readPositions(partitions);
    const pendings = new Set([...stored.values()].flatMap((row) => (row.pending === undefined ? [] : [row.pending])));
    if (pendings.size > 0) {
      for (const id of pendings) this.#finished.push(...(await this.#finish(id)));
      stored = await this.#readPositions(partitions);
      // The finished batch covered all of this one (a counter resuming where a dead one had
      // claimed): nothing to write; its counts go back to the caller's cache.
      if (batch.to.every((p) => (stored.get(p.partition)?.next ?? 0) >= p.offset)) return this.#takeFinished([]);
    }
    for (const partition of partitions) {
      const actual = stored.get(partition)?.next ?? 0;
      const expected = from.get(partition) ?? 0;
      if (actual !== expected) throw conflict(partition, actual, expected);
    }
    const posts = [...batch.updates.keys()].sort();
    const current = await this.getMany(posts);
    const writes: CountWrite[] = posts.map((postId) => {
      const before = current.get(postId);
      return { p: postId, c: applyUpdate(before?.count ?? 0, batch.updates.get(postId) ?? { base: undefined, delta: 0 }), from: before?.version ?? 0 };
    });
    const id = randomUUID();
    const batches = this.#names.counterBatches;
    await this.#db.execute(`INSERT INTO ${batches} (id, body, state) VALUES (?, ?, 'claiming')`, [id, JSON.stringify({ to: batch.to, writes } satisfies StoredBatch)]);
    const claimed: number[] = [];
    for (const partition of partitions) {
      if (await this.#claim(partition, from.get(partition) ?? 0, stored.get(partition), id)) {
        claimed.push(partition);
        continue;
      }
      await this.#db.execute(`UPDATE ${batches} SET state = 'aborted' WHERE id = ?`, [id]);
      await this.#releaseClaims(id, claimed);
      const actual = (await this.#readPositions([partition])).get(partition)?.next ?? 0;
      throw conflict(partition, actual, from.get(partition) ?? 0);
    }
    // Every partition is claimed: from here on the batch is written by whoever gets to it. A
    // finisher that found it half claimed (this counter looked dead) may have aborted it first.
    if (!(await this.#db.execute(`UPDATE ${batches} SET state = 'writing' WHERE id = ? IF state = 'claiming'`, [id])).wasApplied()) {
      throw new TallyError('position_conflict', `counter store: batch ${id} was aborted by another counter while it claimed its partitions`, { retriable: true });
    }
    await this.#complete(id, { to: batch.to, writes }, partitions);
    return this.#takeFinished(writes.map(toVersionedCount));
  }

  /**
   * The counts of batches this store finished for a dead counter are returned with the next batch
   * it applies (the caller writes them to the cache: nobody else will, and set-if-newer keeps the
   * cache from going back).
   */
  #takeFinished(own: VersionedCount[]): VersionedCount[] {
    const all = [...this.#finished, ...own];
    this.#finished = [];
    return all;
  }

  async #claim(partition: number, from: number, row: PositionRow | undefined, id: string): Promise<boolean> {
    const table = this.#names.counterPositions;
    if (row === undefined || !row.exists) {
      const inserted = await this.#db.execute(`INSERT INTO ${table} (partition, next_offset, pending) VALUES (?, ?, ?) IF NOT EXISTS`, [partition, BigInt(from), id]);
      if (inserted.wasApplied()) return true;
    }
    const updated = await this.#db.execute(`UPDATE ${table} SET pending = ? WHERE partition = ? IF next_offset = ? AND pending = null`, [id, partition, BigInt(from)]);
    return updated.wasApplied();
  }

  /** Writes a claimed batch's counts (idempotently) and releases its partitions at `to`. */
  async #complete(id: string, stored: StoredBatch, partitions: readonly number[]): Promise<void> {
    await mapLimit(stored.writes, 128, (w) =>
      this.#db.execute(`UPDATE ${this.#names.counts} USING TIMESTAMP ? SET count = ?, version = ? WHERE post_id = ?`, [POSITION_TIMESTAMP_BASE + BigInt(w.from + 1), BigInt(w.c), BigInt(w.from + 1), w.p]),
    );
    const to = new Map(stored.to.map((p) => [p.partition, p.offset]));
    for (const partition of partitions) {
      const next = to.get(partition);
      const release =
        next === undefined
          ? { query: `UPDATE ${this.#names.counterPositions} SET pending = null WHERE partition = ? IF pending = ?`, params: [partition, id] }
          : { query: `UPDATE ${this.#names.counterPositions} SET next_offset = ?, pending = null WHERE partition = ? IF pending = ?`, params: [BigInt(next), partition, id] };
      if ((await this.#db.execute(release.query, release.params)).wasApplied() || next === undefined) continue;
      // Released by someone else: only a finisher of this very batch may have done it, and then
      // the partition stands at `to` or later. Anything else is a conflict, never a success.
      const actual = (await this.#readPositions([partition])).get(partition)?.next ?? 0;
      if (actual < next) throw conflict(partition, actual, next);
    }
  }

  /**
   * Deals with a batch another counter claimed and did not complete (it died, or is slow). Fully
   * claimed (`writing`): finishes it (idempotent, also beside its own counter). Still `claiming`
   * (its counter stopped between two claims, before writing anything): aborts it, by a lightweight
   * transaction its counter must pass before writing, and drops its claims.
   */
  async #finish(id: string): Promise<VersionedCount[]> {
    const batches = this.#names.counterBatches;
    const row = (await this.#db.execute(`SELECT body, state FROM ${batches} WHERE id = ?`, [id])).rows[0];
    const body = str(row?.get('body'));
    const partitions = (await this.#db.execute(`SELECT partition, pending FROM ${this.#names.counterPositions}`)).rows
      .filter((r) => str(r.get('pending')) === id)
      .map((r) => num(r.get('partition')));
    let state = str(row?.get('state'));
    if (state === 'claiming') {
      const aborted = await this.#db.execute(`UPDATE ${batches} SET state = 'aborted' WHERE id = ? IF state = 'claiming'`, [id]);
      state = aborted.wasApplied() ? 'aborted' : str(aborted.rows[0]?.get('state'));
    }
    if (state !== 'writing' || body === undefined) {
      await this.#releaseClaims(id, partitions);
      return [];
    }
    const stored = JSON.parse(body) as StoredBatch;
    await this.#complete(id, stored, partitions);
    return stored.writes.map(toVersionedCount);
  }

  async #releaseClaims(id: string, partitions: readonly number[]): Promise<void> {
    for (const p of partitions) await this.#db.execute(`UPDATE ${this.#names.counterPositions} SET pending = null WHERE partition = ? IF pending = ?`, [p, id]);
  }

  async #readPositions(partitions: readonly number[]): Promise<Map<number, PositionRow>> {
    const rows = new Map<number, PositionRow>();
    if (partitions.length === 0) return rows;
    const result = await this.#db.execute(`SELECT partition, next_offset, pending FROM ${this.#names.counterPositions} WHERE partition IN ?`, [[...partitions]]);
    for (const row of result.rows) rows.set(num(row.get('partition')), { next: num(row.get('next_offset')), pending: str(row.get('pending')), exists: true });
    return rows;
  }

  async positions(): Promise<StreamPosition[]> {
    const result = await this.#db.execute(`SELECT partition, next_offset FROM ${this.#names.counterPositions}`);
    return result.rows
      .map((row) => ({ partition: num(row.get('partition')), offset: num(row.get('next_offset')) }))
      .filter((p) => p.offset > 0)
      .sort((a, b) => a.partition - b.partition);
  }

  async getMany(postIds: readonly string[]): Promise<Map<string, VersionedCount>> {
    const counts = new Map<string, VersionedCount>();
    const posts = [...new Set(postIds)];
    const chunks = Array.from({ length: Math.ceil(posts.length / 100) }, (_, i) => posts.slice(i * 100, i * 100 + 100));
    const results = await mapLimit(chunks, 16, (chunk) => this.#db.execute(`SELECT post_id, count, version FROM ${this.#names.counts} WHERE post_id IN ?`, [chunk]));
    for (const result of results) {
      for (const row of result.rows) {
        const postId = str(row.get('post_id')) ?? '';
        counts.set(postId, { postId, count: num(row.get('count')), version: num(row.get('version')) });
      }
    }
    return counts;
  }
}

function toVersionedCount(w: CountWrite): VersionedCount {
  return { postId: w.p, count: w.c, version: w.from + 1 };
}

function conflict(partition: number, actual: number, expected: number): TallyError {
  return new TallyError('position_conflict', `counter store (change-feed positions): stored position ${actual} for partition ${partition}, the batch starts at ${expected}`, {
    retriable: true,
  });
}
