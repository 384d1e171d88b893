import { QueryCommand, ScanCommand, type DynamoDBClient, type TransactWriteItem, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StreamPosition } from '../../domain/change.ts';
import { collapseToLastPerPair } from '../../domain/collapse.ts';
import { decodeCursor, decodeUserLikesCursor, encodeCursor, encodeUserLikesCursor, type LikersCursor } from '../../domain/cursor.ts';
import { TallyError } from '../../domain/errors.ts';
import type { ErasureKind, ErasureMarker, ErasureStatus } from '../../domain/erasure.ts';
import type { LikeEvent } from '../../domain/like-event.ts';
import type { ApplyResult, Liker, LikersPage, LikesStore, LogFence, EraseStepResult, MarkerPlace, UserLike, UserLikesPage } from '../../ports/likes-store.ts';
import { batchGet, batchWrite, getN, getS, mapLimit, num, str, transactWrite, TransactionCancelled, type Item } from './dynamo-batch.ts';
import { backoffMs, createDynamoClient, withRetry, type DynamoSettings } from './dynamo-client.ts';
import { DynamoErasures } from './dynamo-erasures.ts';
import { DynamoFence, partitionsOf } from './dynamo-fence.ts';
import { bucketOf, DynamoPostLocks } from './dynamo-post-locks.ts';
import { DynamoRelayProgress, streamLagMs } from './dynamo-relay-progress.ts';
import { dynamoTableNames, LIKES_BY_TIME_INDEX, LIKES_BY_USER_INDEX, type DynamoTableNames } from './dynamo-tables.ts';
import { classifyPk, likeKey, RECOUNT_PREFIX } from './likes-keys.ts';
import { packTransactions } from './transaction-packing.ts';

export interface DynamoLikesStoreOptions extends DynamoSettings {
  /** Shards per post in the partition key: `<hash(user) mod shards>#<postId>`. */
  readonly shards: number;
  /** How long an ingest's claim on its partitions stands without being released (default 5 s). */
  readonly ingestLeaseMs?: number;
  /** How long a recount waits for the stream relay (default 10 s). */
  readonly relayTimeoutMs?: number;
}

/** Transactions of one apply in flight at once. */
const APPLY_CONCURRENCY = 4;
/** How long an apply waits for a recount holding its posts before giving up (retriable). */
const LOCK_WAIT_MS = 60_000;

/**
 * The DynamoDB likes store. Table `<ns>-likes`: one item per like, `pk` = `<shard>#<postId>`,
 * `sk` = userId, `likedAt` (a local secondary index orders a shard's likers by it); an unlike
 * deletes the item. The table's stream (new and old images) is the change feed's source: an
 * INSERT is +1, a REMOVE -1 (see `DynamoStreamCapture`).
 *
 * An apply reads the current items (strongly consistent) and writes only what really changes, in
 * TransactWriteItems of at most 100 actions, each also checking that the ingest still holds its
 * fenced partitions (`DynamoFence`) and that no recount holds the posts' lock buckets
 * (`DynamoPostLocks`). Likes are conditional puts (`attribute_not_exists`), unlikes conditional
 * deletes, so a stream record is always a real change.
 */
export class DynamoLikesStore implements LikesStore {
  readonly #options: DynamoLikesStoreOptions;
  readonly #names: DynamoTableNames;
  #client: DynamoDBClient | undefined;
  #fence: DynamoFence | undefined;
  #locks: DynamoPostLocks | undefined;
  #relay: DynamoRelayProgress | undefined;
  #erasures: DynamoErasures | undefined;
  /** A sorted snapshot of every post id, for `postsAfter` pages of one full reconcile. */
  #postsSnapshot: { readonly at: number; readonly posts: string[] } | undefined;

  constructor(options: DynamoLikesStoreOptions) {
    this.#options = options;
    this.#names = dynamoTableNames(options.namespace);
  }

  async init(): Promise<void> {
    if (this.#client !== undefined) return;
    const client = createDynamoClient(this.#options);
    const deps = { client, endpoint: this.#options.endpoint, table: this.#names.positions };
    this.#client = client;
    this.#fence = new DynamoFence(deps, 'ingest', 'likes store (ingest positions)');
    this.#locks = new DynamoPostLocks(deps);
    this.#relay = new DynamoRelayProgress({ client, endpoint: this.#options.endpoint, table: this.#names.checkpoints });
    this.#erasures = new DynamoErasures({
      client,
      endpoint: this.#options.endpoint,
      names: this.#names,
      fence: this.#fence,
      locks: this.#locks,
      shards: this.#options.shards,
      leaseMs: this.#options.ingestLeaseMs ?? 5000,
      lockWaitMs: LOCK_WAIT_MS,
      indexLagMs: streamLagMs(this.#options.endpoint),
      userLikes: (userId, limit, cursor) => this.likesOf(userId, limit, cursor),
    });
  }

  async close(): Promise<void> {
    this.#client?.destroy();
    this.#client = undefined;
    this.#erasures = undefined;
  }

  get #db(): { client: DynamoDBClient; fence: DynamoFence; locks: DynamoPostLocks; relay: DynamoRelayProgress } {
    if (this.#client === undefined || this.#fence === undefined || this.#locks === undefined || this.#relay === undefined) {
      throw new TallyError('not_ready', 'the DynamoDB likes store is not initialised', { retriable: true });
    }
    return { client: this.#client, fence: this.#fence, locks: this.#locks, relay: this.#relay };
  }

  #key(postId: string, userId: string): Item {
    return likeKey(postId, userId, this.#options.shards);
  }

  async apply(events: readonly LikeEvent[], fence?: LogFence): Promise<ApplyResult> {
    const db = this.#db;
    const ordered = collapseToLastPerPair(events);
    const holder = randomUUID();
    const partitions = fence === undefined ? [] : partitionsOf(fence.from, fence.to);
    if (fence === undefined) return { changed: await this.#applyChanges(ordered, partitions, holder) };
    await db.fence.claim(fence.from, fence.to, holder, this.#options.ingestLeaseMs ?? 5000, true);
    let changed: number;
    try {
      changed = await this.#applyChanges(ordered, partitions, holder);
    } catch (error) {
      // Let go without moving the offsets, so the retry need not wait for the lease: what was
      // written is written again as a no-op (the items are read before they are written).
      await db.fence.release(partitions, [], holder).catch(() => undefined);
      throw error;
    }
    await db.fence.release(partitions, fence.to, holder);
    return { changed };
  }

  /** Reads the items, writes what changes; re-reads and retries a chunk whose items changed meanwhile. */
  async #applyChanges(ordered: readonly LikeEvent[], partitions: readonly number[], holder: string): Promise<number> {
    const db = this.#db;
    const groups = packTransactions(ordered, partitions.length);
    const counts = await mapLimit(groups, APPLY_CONCURRENCY, async (group) => {
      const deadline = Date.now() + LOCK_WAIT_MS;
      for (let attempt = 0; ; attempt++) {
        const present = await this.#present(group);
        const writes = this.#writes(group, present);
        if (writes.length === 0) return 0;
        const now = Date.now();
        const buckets = [...new Set(group.map((e) => bucketOf(e.postId)))];
        const actions = [...db.fence.holderChecks(partitions, holder), ...db.locks.freeChecks(buckets, now), ...writes];
        try {
          await transactWrite(db.client, this.#options.endpoint, actions);
          return writes.length;
        } catch (error) {
          if (!(error instanceof TransactionCancelled)) throw error;
          const failed = error.reasons.map((r, i) => (r === 'ConditionalCheckFailed' ? i : -1)).filter((i) => i >= 0);
          if (failed.some((i) => i < partitions.length)) {
            throw new TallyError('position_conflict', `likes store: another ingest took over partitions ${partitions.join(', ')} during this batch`, { cause: error, retriable: true });
          }
          // A recount holds a bucket (wait for it), or an item changed since it was read (read again).
          if (Date.now() > deadline) throw new TallyError('backend_unavailable', `likes store: a recount has held these posts for over ${LOCK_WAIT_MS} ms`, { cause: error, retriable: true });
          await sleep(10 + backoffMs(attempt, { baseMs: 20, maxMs: 500 }));
        }
      }
    });
    return counts.reduce((a, b) => a + b, 0);
  }

  /** The keys of `events` that are stored now ("pk sk" strings). */
  async #present(events: readonly LikeEvent[]): Promise<Set<string>> {
    const keys = events.map((e) => this.#key(e.postId, e.userId));
    const found = await batchGet(this.#db.client, this.#options.endpoint, this.#names.likes, keys, 'pk, sk');
    return new Set(found.map((item) => `${getS(item, 'pk') ?? ''} ${getS(item, 'sk') ?? ''}`));
  }

  #writes(events: readonly LikeEvent[], present: ReadonlySet<string>): TransactWriteItem[] {
    const writes: TransactWriteItem[] = [];
    for (const event of events) {
      const key = this.#key(event.postId, event.userId);
      const stored = present.has(`${getS(key, 'pk') ?? ''} ${event.userId}`);
      if (event.op === 'like' && !stored) {
        writes.push({ Put: { TableName: this.#names.likes, Item: { ...key, likedAt: num(event.at) }, ConditionExpression: 'attribute_not_exists(pk)' } });
      } else if (event.op === 'unlike' && stored) {
        writes.push({ Delete: { TableName: this.#names.likes, Key: key, ConditionExpression: 'attribute_exists(pk)' } });
      }
    }
    return writes;
  }

  logPositions(): Promise<StreamPosition[]> {
    return this.#db.fence.read();
  }

  async likedPosts(userId: string, postIds: readonly string[]): Promise<Set<string>> {
    if (postIds.length === 0) return new Set();
    const unique = [...new Set(postIds)];
    const found = await batchGet(this.#db.client, this.#options.endpoint, this.#names.likes, unique.map((p) => this.#key(p, userId)), 'pk');
    const pks = new Set(found.map((item) => getS(item, 'pk')));
    return new Set(unique.filter((p) => pks.has(getS(this.#key(p, userId), 'pk'))));
  }

  /** Queries every shard of the post by time (newest first) and merges them; ties by user id ascending. */
  async likers(postId: string, limit: number, cursor: string | undefined): Promise<LikersPage> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const shards = Array.from({ length: this.#options.shards }, (_, s) => s);
    const perShard = await mapLimit(shards, 8, (shard) => this.#shardLikers(`${shard}#${postId}`, limit + 1, after));
    const merged = perShard.flat().sort(newestFirst);
    const items = merged.slice(0, limit);
    const last = items.at(-1);
    return { items, nextCursor: merged.length > limit && last !== undefined ? encodeCursor(last) : undefined };
  }

  /** Up to `want` likers of one shard after the cursor, newest first. */
  async #shardLikers(pk: string, want: number, after: LikersCursor | undefined): Promise<Liker[]> {
    const out: Liker[] = [];
    let start: Item | undefined;
    do {
      const page = await withRetry(this.#options.endpoint, () =>
        this.#db.client.send(
          new QueryCommand({
            TableName: this.#names.likes,
            IndexName: LIKES_BY_TIME_INDEX,
            KeyConditionExpression: after === undefined ? 'pk = :pk' : 'pk = :pk AND likedAt <= :at',
            ExpressionAttributeValues: { ':pk': str(pk), ...(after === undefined ? {} : { ':at': num(after.likedAt) }) },
            ScanIndexForward: false,
            Limit: want + 16,
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        const liker = { userId: getS(item, 'sk') ?? '', likedAt: getN(item, 'likedAt') ?? 0 };
        if (after === undefined || liker.likedAt < after.likedAt || (liker.likedAt === after.likedAt && liker.userId > after.userId)) out.push(liker);
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined && out.length < want);
    return out.sort(newestFirst).slice(0, want);
  }

  /**
   * Exact while applies continue, without a transaction across the post's shards: the recount
   * locks its posts' buckets (applies on them wait), waits until the stream relay has published
   * every write made before the lock, counts each post (a strongly consistent `Select: COUNT`
   * query per shard), writes one marker item per post (`pk` = `#recount#<postId>`) that the stream
   * carries into the feed as a `recount` change, waits until that is published too, and unlocks.
   * So the marker follows every counted change and precedes every later one in the feed.
   */
  /**
   * Queries the by-user index newest first. The index orders by `likedAt` only, so the likes of
   * one millisecond come in any order: reading goes on until the page's last millisecond is read
   * whole, then ties are ordered by post id. The index is eventually consistent (a GSI): a like
   * just applied may show up a moment later.
   */
  async likesOf(userId: string, limit: number, cursor: string | undefined): Promise<UserLikesPage> {
    const after = cursor === undefined ? undefined : decodeUserLikesCursor(cursor);
    const found: UserLike[] = [];
    let start: Item | undefined;
    do {
      const page = await withRetry(this.#options.endpoint, () =>
        this.#db.client.send(
          new QueryCommand({
            TableName: this.#names.likes,
            IndexName: LIKES_BY_USER_INDEX,
            KeyConditionExpression: after === undefined ? 'sk = :user' : 'sk = :user AND likedAt <= :at',
            ExpressionAttributeValues: { ':user': str(userId), ...(after === undefined ? {} : { ':at': num(after.likedAt) }) },
            ScanIndexForward: false,
            Limit: limit + 16,
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        ),
      );
      let oldest = Number.POSITIVE_INFINITY;
      for (const item of page.Items ?? []) {
        const kind = classifyPk(getS(item, 'pk') ?? '');
        const likedAt = getN(item, 'likedAt');
        if (kind.kind !== 'like' || likedAt === undefined) continue;
        oldest = Math.min(oldest, likedAt);
        if (after === undefined || likedAt < after.likedAt || kind.postId > after.postId) found.push({ postId: kind.postId, likedAt });
      }
      start = page.LastEvaluatedKey;
      found.sort(newestFirstByPost);
      // Enough once an older millisecond than the page's last has been seen: that one is complete.
      const boundary = found[limit]?.likedAt;
      if (boundary !== undefined && oldest < boundary) break;
    } while (start !== undefined);
    const items = found.slice(0, limit);
    const last = items.at(-1);
    return { items, nextCursor: found.length > limit && last !== undefined ? encodeUserLikesCursor(last) : undefined };
  }

  async recount(postIds: readonly string[]): Promise<Map<string, number>> {
    const db = this.#db;
    const posts = [...new Set(postIds)].sort();
    const counts = new Map<string, number>();
    if (posts.length === 0) return counts;
    const holder = randomUUID();
    const timeout = this.#options.relayTimeoutMs ?? 10_000;
    const buckets = await db.locks.acquire(posts, holder, timeout * 2 + 10_000, LOCK_WAIT_MS);
    try {
      await db.relay.waitRelayed(Date.now(), timeout);
      await mapLimit(posts, 4, async (postId) => counts.set(postId, await this.#count(postId)));
      const markers: WriteRequest[] = posts.map((postId) => ({
        // A new nonce each time: a put that changes nothing would emit no stream record.
        PutRequest: { Item: { pk: str(`${RECOUNT_PREFIX}${postId}`), sk: str('#'), count: num(counts.get(postId) ?? 0), nonce: str(holder) } },
      }));
      await batchWrite(db.client, this.#options.endpoint, this.#names.likes, markers);
      await db.relay.waitRelayed(Date.now(), timeout);
    } finally {
      await db.locks.release(buckets, holder);
    }
    return counts;
  }

  async #count(postId: string): Promise<number> {
    const shards = Array.from({ length: this.#options.shards }, (_, s) => s);
    const perShard = await mapLimit(shards, 8, async (shard) => {
      let n = 0;
      let start: Item | undefined;
      do {
        const page = await withRetry(this.#options.endpoint, () =>
          this.#db.client.send(
            new QueryCommand({
              TableName: this.#names.likes,
              KeyConditionExpression: 'pk = :pk',
              ExpressionAttributeValues: { ':pk': str(`${shard}#${postId}`) },
              Select: 'COUNT',
              ConsistentRead: true,
              ...(start === undefined ? {} : { ExclusiveStartKey: start }),
            }),
          ),
        );
        n += page.Count ?? 0;
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
      return n;
    });
    return perShard.reduce((a, b) => a + b, 0);
  }

  /** See `DynamoErasures`: fenced, crash-safe steps of conditional deletes counted in the same transactions. */
  async eraseStep(marker: ErasureMarker, place: MarkerPlace, limit: number): Promise<EraseStepResult> {
    return this.#erasuresOrThrow.step(marker, place, limit);
  }

  async erasureAccepted(marker: ErasureMarker, partitionsTotal: number): Promise<void> {
    return this.#erasuresOrThrow.accepted(marker, partitionsTotal);
  }

  async erasureStatus(kind: ErasureKind, target: string): Promise<ErasureStatus | undefined> {
    return this.#erasuresOrThrow.status(kind, target);
  }

  get #erasuresOrThrow(): DynamoErasures {
    if (this.#erasures === undefined) throw new TallyError('not_ready', 'the DynamoDB likes store is not initialised', { retriable: true });
    return this.#erasures;
  }

  /**
   * DynamoDB keeps no index by post alone: the first page of a full reconcile scans the table's
   * keys once (a parallel Scan would be the AWS-scale version) and later pages read that sorted
   * snapshot for a minute. Posts first liked after the snapshot get their count from their changes.
   */
  async postsAfter(afterPostId: string, limit: number): Promise<string[]> {
    const now = Date.now();
    if (afterPostId === '' || this.#postsSnapshot === undefined || now - this.#postsSnapshot.at > 60_000) {
      this.#postsSnapshot = { at: now, posts: await this.#scanPosts() };
    }
    const posts = this.#postsSnapshot.posts;
    let lo = 0;
    let hi = posts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((posts[mid] as string) <= afterPostId) lo = mid + 1;
      else hi = mid;
    }
    return posts.slice(lo, lo + limit);
  }

  async #scanPosts(): Promise<string[]> {
    const posts = new Set<string>();
    let start: Item | undefined;
    do {
      const page = await withRetry(this.#options.endpoint, () =>
        this.#db.client.send(new ScanCommand({ TableName: this.#names.likes, ProjectionExpression: 'pk', ConsistentRead: true, ...(start === undefined ? {} : { ExclusiveStartKey: start }) })),
      );
      for (const item of page.Items ?? []) {
        const pk = getS(item, 'pk') ?? '';
        if (pk.startsWith('#')) continue;
        posts.add(pk.slice(pk.indexOf('#') + 1));
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return [...posts].sort();
  }
}

function newestFirstByPost(a: UserLike, b: UserLike): number {
  if (a.likedAt !== b.likedAt) return b.likedAt - a.likedAt;
  return a.postId < b.postId ? -1 : a.postId > b.postId ? 1 : 0;
}

function newestFirst(a: Liker, b: Liker): number {
  if (a.likedAt !== b.likedAt) return b.likedAt - a.likedAt;
  return a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0;
}
