import type { StreamPosition } from '../../domain/change.ts';
import type { CounterBatch, CounterStore, VersionedCount } from '../../ports/counter-store.ts';
import { inTransaction, PgPoolLifecycle, queryOnce, type PgPool } from './pg-client.ts';
import { PgPositions } from './pg-positions.ts';
import { pgNames, type PgNames } from './pg-schema.ts';

export interface PgCounterStoreOptions {
  readonly url: string;
  readonly namespace: string;
  /** Most connections of the pool (default 8). */
  readonly maxConnections?: number;
}

interface CountRow {
  post_id: string;
  count: string;
  version: string;
}

/**
 * The PostgreSQL counter store: `counts` and the applied change-feed positions in
 * `counter_positions`, changed in one transaction. The batch's `from` positions are checked under
 * row locks, so two counters racing for a partition cannot both apply the same changes.
 */
export class PgCounterStore implements CounterStore {
  readonly #sql: ReturnType<typeof statements>;
  readonly #pool: PgPoolLifecycle;
  readonly #positions: PgPositions;

  constructor(options: PgCounterStoreOptions) {
    const names = pgNames(options.namespace);
    this.#sql = statements(names);
    this.#positions = new PgPositions(names.counterPositions, 'counter store (change-feed positions)');
    this.#pool = new PgPoolLifecycle({ url: options.url, max: options.maxConnections ?? 8, applicationName: `tally-counter-${options.namespace}` }, 'PostgreSQL counter store');
  }

  async init(): Promise<void> {
    this.#pool.open();
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  get #db(): PgPool {
    return this.#pool.pool;
  }

  async apply(batch: CounterBatch): Promise<VersionedCount[]> {
    const adds = { posts: [] as string[], values: [] as number[] };
    const sets = { posts: [] as string[], values: [] as number[] };
    for (const postId of [...batch.updates.keys()].sort()) {
      const update = batch.updates.get(postId);
      if (update === undefined) continue;
      const target = update.base === undefined ? adds : sets;
      target.posts.push(postId);
      target.values.push((update.base ?? 0) + update.delta);
    }
    return inTransaction(this.#db, async (tx) => {
      await this.#positions.advance(tx, batch.from, batch.to);
      const rows: CountRow[] = [];
      if (adds.posts.length > 0) rows.push(...(await tx.query<CountRow>(this.#sql.add, [adds.posts, adds.values])).rows);
      if (sets.posts.length > 0) rows.push(...(await tx.query<CountRow>(this.#sql.set, [sets.posts, sets.values])).rows);
      return rows.map(toVersionedCount);
    });
  }

  positions(): Promise<StreamPosition[]> {
    return this.#positions.read(this.#db);
  }

  async getMany(postIds: readonly string[]): Promise<Map<string, VersionedCount>> {
    const counts = new Map<string, VersionedCount>();
    if (postIds.length === 0) return counts;
    const result = await queryOnce<CountRow>(this.#db, this.#sql.get, [postIds]);
    for (const row of result.rows) counts.set(row.post_id, toVersionedCount(row));
    return counts;
  }
}

function toVersionedCount(row: CountRow): VersionedCount {
  return { postId: row.post_id, count: Number(row.count), version: Number(row.version) };
}

function statements(n: PgNames) {
  const upsert = (newCount: string) => `INSERT INTO ${n.counts} AS c (post_id, count, version)
      SELECT post_id, value, 1 FROM unnest($1::text[], $2::int8[]) AS u(post_id, value)
      ON CONFLICT (post_id) DO UPDATE SET count = ${newCount}, version = c.version + 1
      RETURNING post_id, count, version`;
  return {
    // Deltas add to the stored count; a recount's base replaces it (base + the deltas after it).
    add: upsert('c.count + excluded.count'),
    set: upsert('excluded.count'),
    get: `SELECT post_id, count, version FROM ${n.counts} WHERE post_id = ANY($1::text[])`,
  };
}
