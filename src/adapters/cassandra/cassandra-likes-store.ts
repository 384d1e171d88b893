import { setTimeout as sleep } from 'node:timers/promises';
import type { StreamPosition } from '../../domain/change.ts';
import { decodeCursor, decodeUserLikesCursor, encodeCursor, encodeUserLikesCursor } from '../../domain/cursor.ts';
import { isTallyError, TallyError } from '../../domain/errors.ts';
import { partitionOf, shardOf } from '../../domain/hash.ts';
import type { ErasureKind, ErasureMarker, ErasureStatus } from '../../domain/erasure.ts';
import type { LikeEvent } from '../../domain/like-event.ts';
import type { ApplyResult, Liker, LikersPage, LikesStore, LogFence, EraseStepResult, MarkerPlace, UserLike, UserLikesPage } from '../../ports/likes-store.ts';
import type { CassandraConnection, CqlSession, CqlStatement } from './cassandra-client.ts';
import { connectCassandra, mapLimit, num, POSITION_TIMESTAMP_BASE, str } from './cassandra-client.ts';
import { deltaStatement, recountStatement, type LoggedDelta } from './cassandra-change-log.ts';
import { CassandraErasures, type ErasedRow } from './cassandra-erasures.ts';
import { CassandraIngestPositions } from './cassandra-ingest-positions.ts';
import { cassandraNames, type CassandraNames } from './cassandra-schema.ts';

export interface CassandraLikesStoreOptions extends CassandraConnection {
  /** Shards per post in the partition key: (post, hash(user) mod shards). */
  readonly shards: number;
  /** Partitions of the like-events log (and of the change feed): a post's partition is `partitionOf(postId, partitions)`. */
  readonly partitions: number;
  /** Groups (likes partitions) written concurrently by one apply (default 128). */
  readonly concurrency?: number;
  /** Tests only: awaited between the fence check and the first write (a stalled, soon stale, ingest). */
  readonly afterFenceCheck?: () => Promise<void>;
  /** Tests only: awaited after an erasure step's deletes, before its commit (a crash there leaves the planned step to redo). */
  readonly afterEraseRows?: () => Promise<void>;
}

/** One event of a batch with the log offset it was read at. */
interface Placed {
  readonly event: LikeEvent;
  readonly offset: number;
}

/** The events of a batch that fall in one likes partition (post, shard). */
interface Group {
  readonly postId: string;
  readonly shard: number;
  /** The log partition of the post: also its change-log stream and change-feed partition. */
  readonly stream: number;
  readonly events: Placed[];
}

const GROUP_ATTEMPTS = 50;
/** Rows of `likes_by_user` per logged batch: well under Cassandra's default 50 KiB batch limit. */
const BY_USER_BATCH = 64;
const RECOUNT_ATTEMPTS = 200;

/**
 * The Cassandra likes store. Rows live in `likes ((post_id, shard), user_id)`; each likes
 * partition also holds, in static columns, the log offset of the last event applied to it and the
 * changes that write made. Cassandra has no multi-partition transaction, so exactness is built
 * from single-partition ones (see "How it works" in the README):
 *
 * - a batch's events of one likes partition are applied by one conditional batch (a lightweight
 *   transaction) that holds only if the partition still stands where it was read: what it
 *   inserts or deletes is exactly what changed, and events at or below the stored offset are
 *   skipped, so replays and a stale ingest after a rebalance change nothing twice;
 * - the changes go to the change log under keys made of their log offsets (idempotent), and are
 *   written again from the static column by whoever finds them not yet confirmed;
 * - `ingest_positions` moves (by a lightweight transaction) only after all of it, and it is the
 *   bound up to which the relay reads the change log.
 */
export class CassandraLikesStore implements LikesStore {
  readonly #options: CassandraLikesStoreOptions;
  readonly #names: CassandraNames;
  readonly #positions: CassandraIngestPositions;
  readonly #erasures: CassandraErasures;
  #session: CqlSession | undefined;
  /** Events are numbered by their log offsets, derived from the fence (see `LikesStore.offsetsFromFence`). */
  readonly offsetsFromFence = true;

  constructor(options: CassandraLikesStoreOptions) {
    this.#options = options;
    this.#names = cassandraNames(options.keyspace);
    this.#positions = new CassandraIngestPositions(this.#names, () => this.#db);
    this.#erasures = new CassandraErasures(this.#names, () => this.#db, this.#positions, { shards: options.shards });
  }

  async init(): Promise<void> {
    this.#session ??= await connectCassandra(this.#options, `tally-likes-${this.#options.keyspace}`);
  }

  async close(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    await session?.shutdown();
  }

  get #db(): CqlSession {
    if (this.#session === undefined) throw new TallyError('not_ready', 'the Cassandra likes store is not initialised', { retriable: true });
    return this.#session;
  }

  async apply(events: readonly LikeEvent[], fence?: LogFence): Promise<ApplyResult> {
    const byPartition = new Map<number, LikeEvent[]>();
    for (const event of events) {
      const partition = partitionOf(event.postId, this.#options.partitions);
      let list = byPartition.get(partition);
      if (list === undefined) byPartition.set(partition, (list = []));
      list.push(event);
    }
    if (fence !== undefined) return this.#applyFenced(byPartition, fence);
    // Without a log (tests, tools): the store numbers the events itself, as if it were the log.
    for (let attempt = 0; ; attempt++) {
      const stored = await this.#positions.readAll();
      const from = [...byPartition.keys()].map((partition) => ({ partition, offset: stored.get(partition)?.next ?? 0 }));
      const to = from.map((p) => ({ partition: p.partition, offset: p.offset + (byPartition.get(p.partition)?.length ?? 0) }));
      try {
        return await this.#applyFenced(byPartition, { from, to });
      } catch (error) {
        if (!(isTallyError(error) && error.code === 'position_conflict') || attempt >= 20) throw error;
      }
    }
  }

  async #applyFenced(byPartition: ReadonlyMap<number, LikeEvent[]>, fence: LogFence): Promise<ApplyResult> {
    const from = new Map(fence.from.map((p) => [p.partition, p.offset]));
    const to = new Map(fence.to.map((p) => [p.partition, p.offset]));
    // Refuse a stale batch before writing anything (the lightweight transactions below make a
    // racing one harmless; this makes a plainly stale one change nothing).
    const stored = await this.#positions.readAll();
    for (const partition of new Set([...from.keys(), ...to.keys()])) {
      const actual = stored.get(partition)?.next ?? 0;
      const expected = from.get(partition) ?? 0;
      if (actual !== expected) throw conflict(partition, actual, expected);
    }
    await this.#options.afterFenceCheck?.();
    const groups = new Map<string, Group>();
    for (const [computed, list] of byPartition) {
      const partition = fencePartition(computed, fence);
      const end = to.get(partition);
      if (end === undefined) throw new TallyError('internal', `likes store: events of log partition ${computed} but no position for it in the fence`);
      const start = from.get(partition) ?? 0;
      if (list.length > end - start) {
        // Numbering by offsets needs at most one event per position (a skipped foreign record
        // leaves a gap, which is fine): a bundled record would give two likes one number.
        throw new TallyError('internal', `likes store (cassandra): ${list.length} events for log positions ${start}..${end} of partition ${partition}; this store needs one event per like-events record. Every process of a cassandra deployment opens the log so; was this log written by a process with another --store (bundled records, --kafka-record-events)?`);
      }
      // Offsets of the partition's events: the last ends just before `end` (the log has no gaps:
      // its producer is idempotent, not transactional).
      const base = end - list.length;
      list.forEach((event, k) => {
        const shard = shardOf(event.userId, this.#options.shards);
        const key = `${event.postId}\u0000${shard}`;
        let group = groups.get(key);
        if (group === undefined) groups.set(key, (group = { postId: event.postId, shard, stream: partition, events: [] }));
        group.events.push({ event, offset: base + k });
      });
    }
    const changed = await mapLimit([...groups.values()], this.#options.concurrency ?? 128, (group) => this.#applyGroup(group, from.get(group.stream) ?? 0));
    for (const [partition, end] of to) {
      const start = from.get(partition) ?? 0;
      if (end === start) continue;
      if (!(await this.#positions.advance(partition, start, end))) {
        const actual = (await this.#positions.read(partition)).next;
        throw conflict(partition, actual, start);
      }
    }
    return { changed: changed.reduce((a, b) => a + b, 0) };
  }

  /** Applies a group's events beyond the partition's stored offset in one conditional batch; returns the rows changed. */
  async #applyGroup(group: Group, batchStart: number): Promise<number> {
    const n = this.#names;
    const key = [group.postId, group.shard];
    for (let attempt = 0; attempt < GROUP_ATTEMPTS; attempt++) {
      const head = (await this.#db.execute(`SELECT applied, last_changes FROM ${n.likes} WHERE post_id = ? AND shard = ? LIMIT 1`, key)).rows[0];
      const appliedRaw = head?.get('applied');
      const applied = num(appliedRaw, -1);
      const last = parseDeltas(str(head?.get('last_changes')));
      // The last write's changes may not have reached the change log (its writer died, or is a
      // stale ingest): whoever sees them unconfirmed writes them again; the keys make it idempotent.
      if (last.some((d) => d.o >= batchStart)) await this.#logChanges(group, last);
      const finalByUser = new Map<string, Placed>();
      for (const placed of group.events) if (placed.offset > applied) finalByUser.set(placed.event.userId, placed);
      if (finalByUser.size === 0) return 0;
      const users = [...finalByUser.keys()].sort();
      const existing = await this.#db.execute(`SELECT user_id, liked_at FROM ${n.likes} WHERE post_id = ? AND shard = ? AND user_id IN ?`, [...key, users], { fetchSize: users.length + 1 });
      const likedAt = new Map(existing.rows.map((row) => [str(row.get('user_id')) ?? '', num(row.get('liked_at'))]));
      const deltas: LoggedDelta[] = [];
      const rows: CqlStatement[] = [];
      let newApplied = applied;
      for (const user of users) {
        const { event, offset } = finalByUser.get(user) as Placed;
        newApplied = Math.max(newApplied, offset);
        const had = likedAt.get(user);
        if (event.op === 'like' && had === undefined) {
          rows.push({ query: `INSERT INTO ${n.likes} (post_id, shard, user_id, liked_at) VALUES (?, ?, ?, ?)`, params: [...key, user, BigInt(event.at)] });
          deltas.push({ u: user, d: 1, o: offset, at: event.at });
        } else if (event.op === 'unlike' && had !== undefined) {
          rows.push({ query: `DELETE FROM ${n.likes} WHERE post_id = ? AND shard = ? AND user_id = ?`, params: [...key, user] });
          deltas.push({ u: user, d: -1, o: offset, at: had });
        }
      }
      const head2 =
        appliedRaw === null || appliedRaw === undefined
          ? { query: `UPDATE ${n.likes} SET applied = ?, last_changes = ? WHERE post_id = ? AND shard = ? IF applied = null`, params: [BigInt(newApplied), JSON.stringify(deltas), ...key] }
          : { query: `UPDATE ${n.likes} SET applied = ?, last_changes = ? WHERE post_id = ? AND shard = ? IF applied = ?`, params: [BigInt(newApplied), JSON.stringify(deltas), ...key, BigInt(applied)] };
      const result = await this.#db.batch([head2, ...rows]);
      if (!result.wasApplied()) continue; // another writer moved the partition: read again
      await this.#logChanges(group, deltas);
      return deltas.length;
    }
    throw new TallyError('backend_unavailable', `likes store: partition (${group.postId}, ${group.shard}) kept moving under ${GROUP_ATTEMPTS} attempts`, { retriable: true });
  }

  /**
   * Writes changes into the change log and the two indexes (likers by post, likes by user). All
   * idempotent: change-log keys are log offsets, and index rows are written at a timestamp derived
   * from the log offset, so a late rewrite of an old like can never resurrect a row a newer unlike
   * removed. A group's likers are one partition (one unlogged batch); its rows by user span one
   * partition per user, so they go in logged batches (all of a batch or none, whatever dies), of
   * at most `BY_USER_BATCH` rows to stay under Cassandra's batch size limit. Whatever is cut short
   * is written again with the rest of `last_changes` by the next writer of the group.
   */
  async #logChanges(group: Group, deltas: readonly LoggedDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    const n = this.#names;
    const stamp = (d: LoggedDelta): bigint => POSITION_TIMESTAMP_BASE + BigInt(d.o + 1);
    const log = deltas.map((d) => deltaStatement(n, group.stream, group.postId, d));
    const likers = deltas.map((d) =>
      d.d > 0
        ? { query: `INSERT INTO ${n.likers} (post_id, shard, liked_at, user_id) VALUES (?, ?, ?, ?) USING TIMESTAMP ?`, params: [group.postId, group.shard, BigInt(d.at), d.u, stamp(d)] }
        : { query: `DELETE FROM ${n.likers} USING TIMESTAMP ? WHERE post_id = ? AND shard = ? AND liked_at = ? AND user_id = ?`, params: [stamp(d), group.postId, group.shard, BigInt(d.at), d.u] },
    );
    const byUser = deltas.map((d) =>
      d.d > 0
        ? { query: `INSERT INTO ${n.likesByUser} (user_id, liked_at, post_id) VALUES (?, ?, ?) USING TIMESTAMP ?`, params: [d.u, BigInt(d.at), group.postId, stamp(d)] }
        : { query: `DELETE FROM ${n.likesByUser} USING TIMESTAMP ? WHERE user_id = ? AND liked_at = ? AND post_id = ?`, params: [stamp(d), d.u, BigInt(d.at), group.postId] },
    );
    const byUserBatches: CqlStatement[][] = [];
    for (let i = 0; i < byUser.length; i += BY_USER_BATCH) byUserBatches.push(byUser.slice(i, i + BY_USER_BATCH));
    await Promise.all([
      this.#db.batch(log, { logged: false }),
      this.#db.batch(likers, { logged: false }),
      ...byUserBatches.map((batch) => (batch.length === 1 ? this.#db.execute((batch[0] as CqlStatement).query, (batch[0] as CqlStatement).params) : this.#db.batch(batch, { logged: true }))),
    ]);
  }

  async logPositions(): Promise<StreamPosition[]> {
    const stored = await this.#positions.readAll();
    return [...stored]
      .filter(([, mark]) => mark.next > 0)
      .map(([partition, mark]) => ({ partition, offset: mark.next }))
      .sort((a, b) => a.partition - b.partition);
  }

  /** One single-partition read per post: the user's shard of it. */
  async likedPosts(userId: string, postIds: readonly string[]): Promise<Set<string>> {
    const shard = shardOf(userId, this.#options.shards);
    const posts = [...new Set(postIds)];
    const found = await mapLimit(posts, 64, async (postId) => {
      const result = await this.#db.execute(`SELECT user_id FROM ${this.#names.likes} WHERE post_id = ? AND shard = ? AND user_id = ?`, [postId, shard, userId]);
      return result.rows.length > 0;
    });
    return new Set(posts.filter((_, i) => found[i]));
  }

  /** Merges the post's shards of the likers index, newest first (liked_at DESC, user_id ASC). */
  async likers(postId: string, limit: number, cursor: string | undefined): Promise<LikersPage> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const table = this.#names.likers;
    const shards = Array.from({ length: this.#options.shards }, (_, s) => s);
    const perShard = await mapLimit(shards, 16, async (shard) => {
      const read = async (where: string, params: unknown[]): Promise<Liker[]> => {
        const result = await this.#db.execute(`SELECT liked_at, user_id FROM ${table} WHERE post_id = ? AND shard = ?${where} LIMIT ?`, [postId, shard, ...params, limit + 1], { fetchSize: limit + 1 });
        return result.rows.map((row) => ({ userId: str(row.get('user_id')) ?? '', likedAt: num(row.get('liked_at')) }));
      };
      if (after === undefined) return read('', []);
      const [sameMs, older] = await Promise.all([
        read(' AND liked_at = ? AND user_id > ?', [BigInt(after.likedAt), after.userId]),
        read(' AND liked_at < ?', [BigInt(after.likedAt)]),
      ]);
      return [...sameMs, ...older];
    });
    const merged = perShard.flat().sort((a, b) => (a.likedAt !== b.likedAt ? b.likedAt - a.likedAt : a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
    const items = merged.slice(0, limit);
    const last = items.at(-1);
    return { items, nextCursor: merged.length > limit && last !== undefined ? encodeCursor(last) : undefined };
  }

  /**
   * Counts a post's rows across its shards at an exact place of its log partition: the count is
   * taken when every shard's last applied offset is below the partition's confirmed position C
   * (so it holds exactly the events before C), and the recount is written to the change log at C,
   * before C's own delta. Retries while a batch is in flight on the post.
   */
  /** One partition of `likes_by_user`, already in the Likes tab's order (liked_at DESC, post_id ASC). */
  async likesOf(userId: string, limit: number, cursor: string | undefined): Promise<UserLikesPage> {
    const after = cursor === undefined ? undefined : decodeUserLikesCursor(cursor);
    const read = async (where: string, params: unknown[], want: number): Promise<UserLike[]> => {
      const result = await this.#db.execute(`SELECT liked_at, post_id FROM ${this.#names.likesByUser} WHERE user_id = ?${where} LIMIT ?`, [userId, ...params, want], { fetchSize: want });
      return result.rows.map((row) => ({ postId: str(row.get('post_id')) ?? '', likedAt: num(row.get('liked_at')) }));
    };
    let found: UserLike[];
    if (after === undefined) found = await read('', [], limit + 1);
    else {
      found = await read(' AND liked_at = ? AND post_id > ?', [BigInt(after.likedAt), after.postId], limit + 1);
      if (found.length <= limit) found.push(...(await read(' AND liked_at < ?', [BigInt(after.likedAt)], limit + 1 - found.length)));
    }
    const items = found.slice(0, limit);
    const last = items.at(-1);
    return { items, nextCursor: found.length > limit && last !== undefined ? encodeUserLikesCursor(last) : undefined };
  }

  async recount(postIds: readonly string[]): Promise<Map<string, number>> {
    const posts = [...new Set(postIds)].sort();
    const counts = await mapLimit(posts, 8, (postId) => this.#recountOne(postId));
    return new Map(posts.map((postId, i) => [postId, counts[i] as number]));
  }

  async #recountOne(postId: string): Promise<number> {
    const stream = partitionOf(postId, this.#options.partitions);
    const shards = Array.from({ length: this.#options.shards }, (_, s) => s);
    for (let attempt = 0; attempt < RECOUNT_ATTEMPTS; attempt++) {
      const mark = await this.#positions.read(stream);
      const perShard = await mapLimit(shards, 16, async (shard) => {
        const row = (await this.#db.execute(`SELECT applied, COUNT(liked_at) AS n FROM ${this.#names.likes} WHERE post_id = ? AND shard = ?`, [postId, shard])).rows[0];
        return { applied: num(row?.get('applied'), -1), n: num(row?.get('n')) };
      });
      if (perShard.every((s) => s.applied < mark.next)) {
        const total = perShard.reduce((sum, s) => sum + s.n, 0);
        const row = recountStatement(this.#names, stream, { time: mark.next, seq: mark.recounts + 1 }, postId, total);
        await this.#db.execute(row.query, row.params);
        if (await this.#positions.addRecount(stream, mark)) return total;
      }
      await sleep(Math.min(2 + attempt, 50));
    }
    throw new TallyError('backend_unavailable', `likes store: no quiet moment to recount post ${postId} in ${RECOUNT_ATTEMPTS} attempts; reconcile retries later`, { retriable: true });
  }

  async eraseStep(marker: ErasureMarker, place: MarkerPlace, limit: number): Promise<EraseStepResult> {
    return this.#erasures.step(marker, place, limit, async (stream, offset, rows) => {
      await this.#eraseRows(stream, offset, rows);
      await this.#options.afterEraseRows?.();
    });
  }

  async erasureAccepted(marker: ErasureMarker, partitionsTotal: number): Promise<void> {
    await this.#erasures.accepted(marker, this.#options.partitions, partitionsTotal);
  }

  async erasureStatus(kind: ErasureKind, target: string): Promise<ErasureStatus | undefined> {
    return this.#erasures.status(kind, target);
  }

  /** An erasure step's deletes, grouped by likes partition (see `EraseRows`). */
  async #eraseRows(stream: number, markerOffset: number, rows: readonly ErasedRow[]): Promise<void> {
    const groups = new Map<string, ErasedRow[]>();
    for (const row of rows) {
      const key = `${row.p}\u0000${row.s}`;
      let list = groups.get(key);
      if (list === undefined) groups.set(key, (list = []));
      list.push(row);
    }
    await mapLimit([...groups.values()], this.#options.concurrency ?? 128, (list) => this.#eraseGroup(stream, markerOffset, list));
  }

  /**
   * Deletes a likes partition's planned rows as unlikes at the marker's offset: one conditional
   * batch moves `applied` to the marker's offset (a recount of the post then waits until the part
   * is complete) and keeps the deletes in `last_changes`; then every planned row's -1 goes to the
   * change log under its planned key, whether this call or an earlier one (cut short) deleted it
   * (rewriting them is harmless: same keys, and index deletes stamped at the marker's offset, older
   * than any later like). A partition whose `applied` is past the marker is left alone: the
   * erasure is complete, and a late redo (a stale ingest) must not delete a like given after it.
   */
  async #eraseGroup(stream: number, markerOffset: number, rows: readonly ErasedRow[]): Promise<void> {
    const n = this.#names;
    const first = rows[0];
    if (first === undefined) return;
    const key = [first.p, first.s];
    const group: Group = { postId: first.p, shard: first.s, stream, events: [] };
    const deltas: LoggedDelta[] = rows.map((r) => ({ u: r.u, d: -1, o: markerOffset, at: r.a, s: r.q }));
    for (let attempt = 0; attempt < GROUP_ATTEMPTS; attempt++) {
      const users = deltas.map((d) => d.u);
      // The static `applied` comes with each row found; with none found there is nothing to delete.
      const existing = await this.#db.execute(`SELECT applied, user_id FROM ${n.likes} WHERE post_id = ? AND shard = ? AND user_id IN ?`, [...key, users], { fetchSize: users.length + 1 });
      const appliedRaw = existing.rows[0]?.get('applied');
      const applied = num(appliedRaw, -1);
      if (applied > markerOffset) return;
      const present = new Set(existing.rows.map((row) => str(row.get('user_id')) ?? ''));
      const deleted = deltas.filter((d) => present.has(d.u));
      if (deleted.length > 0) {
        const head =
          appliedRaw === null || appliedRaw === undefined
            ? { query: `UPDATE ${n.likes} SET applied = ?, last_changes = ? WHERE post_id = ? AND shard = ? IF applied = null`, params: [BigInt(markerOffset), JSON.stringify(deleted), ...key] }
            : { query: `UPDATE ${n.likes} SET applied = ?, last_changes = ? WHERE post_id = ? AND shard = ? IF applied = ?`, params: [BigInt(markerOffset), JSON.stringify(deleted), ...key, BigInt(applied)] };
        const removes = deleted.map((d) => ({ query: `DELETE FROM ${n.likes} WHERE post_id = ? AND shard = ? AND user_id = ?`, params: [...key, d.u] }));
        if (!(await this.#db.batch([head, ...removes])).wasApplied()) continue;
      }
      await this.#logChanges(group, deltas);
      return;
    }
    throw new TallyError('backend_unavailable', `likes store: partition (${first.p}, ${first.s}) kept moving under ${GROUP_ATTEMPTS} attempts`, { retriable: true });
  }

  /** Scans the partition keys (token order) and sorts: a full scan, as a periodic reconcile may afford. */
  async postsAfter(afterPostId: string, limit: number): Promise<string[]> {
    const shardsOf = new Map<string, number[]>();
    let pageState: string | undefined;
    do {
      const result = await this.#db.execute(
        `SELECT DISTINCT post_id, shard FROM ${this.#names.likes}`,
        [],
        pageState === undefined ? { fetchSize: 5000 } : { fetchSize: 5000, pageState },
      );
      for (const row of result.rows) {
        const postId = str(row.get('post_id')) ?? '';
        if (postId <= afterPostId) continue;
        let list = shardsOf.get(postId);
        if (list === undefined) shardsOf.set(postId, (list = []));
        list.push(num(row.get('shard')));
      }
      pageState = result.pageState ?? undefined;
    } while (pageState !== undefined);
    const posts: string[] = [];
    for (const postId of [...shardsOf.keys()].sort()) {
      if (posts.length >= limit) break;
      // A partition may hold only its static columns once every like of it is gone.
      const rows = await mapLimit(shardsOf.get(postId) ?? [], 16, async (shard) =>
        (await this.#db.execute(`SELECT user_id FROM ${this.#names.likes} WHERE post_id = ? AND shard = ? LIMIT 1`, [postId, shard])).rows.filter((r) => str(r.get('user_id')) !== undefined).length,
      );
      if (rows.some((r) => r > 0)) posts.push(postId);
    }
    return posts;
  }
}

/**
 * The log partition whose offsets number an event: its post's partition, or, for a caller whose
 * fence names a single partition that is not that one (tests that fence by hand), that partition.
 */
function fencePartition(computed: number, fence: LogFence): number {
  if (fence.to.some((p) => p.partition === computed)) return computed;
  const only = fence.to.length === 1 ? fence.to[0] : undefined;
  return only === undefined ? computed : only.partition;
}

function conflict(partition: number, actual: number, expected: number): TallyError {
  return new TallyError('position_conflict', `likes store (ingest positions): stored position ${actual} for partition ${partition}, the batch starts at ${expected}`, { retriable: true });
}

function parseDeltas(text: string | undefined): LoggedDelta[] {
  if (text === undefined || text === '') return [];
  return JSON.parse(text) as LoggedDelta[];
}
