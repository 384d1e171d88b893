import { GetItemCommand, PutItemCommand, QueryCommand, type DynamoDBClient, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeUserLikesCursor } from '../../domain/cursor.ts';
import { TallyError } from '../../domain/errors.ts';
import { erasureKind, markerPartitions, rowInPartition, type ErasureKind, type ErasureMarker, type ErasureStatus } from '../../domain/erasure.ts';
import type { EraseStepResult, MarkerPlace, UserLikesPage } from '../../ports/likes-store.ts';
import { getN, getS, num, str, transactWrite, TransactionCancelled, type Item } from './dynamo-batch.ts';
import { awsErrorName, backoffMs, withRetry } from './dynamo-client.ts';
import type { DynamoFence } from './dynamo-fence.ts';
import { bucketOf, type DynamoPostLocks } from './dynamo-post-locks.ts';
import type { DynamoTableNames } from './dynamo-tables.ts';
import { likeKey } from './likes-keys.ts';
import { packTransactions } from './transaction-packing.ts';

/** What the erasures need from the likes store. */
export interface DynamoErasuresDeps {
  readonly client: DynamoDBClient;
  readonly endpoint: string;
  readonly names: DynamoTableNames;
  /** The ingest's fence on the log partitions (the positions table, `kind` = `ingest`). */
  readonly fence: DynamoFence;
  readonly locks: DynamoPostLocks;
  /** The likes store's shards per post (`pk` = `<shard>#<postId>`). */
  readonly shards: number;
  /** How long a step's claim on its partition stands without being released. */
  readonly leaseMs: number;
  /** How long a step waits for a recount holding its posts before giving up (retriable). */
  readonly lockWaitMs: number;
  /**
   * How long the by-user index may lag the table: a user part scans only once this long has passed
   * since its first step (2 s on AWS, whose global secondary indexes are eventually consistent; 0
   * on the emulator, whose index is synchronous).
   */
  readonly indexLagMs: number;
  /** A page of the user's likes from the by-user index, newest first (the Likes tab's read). */
  readonly userLikes: (userId: string, limit: number, cursor: string | undefined) => Promise<UserLikesPage>;
}

/** A row an erasure step found: the key of a like. */
interface FoundRow {
  readonly postId: string;
  readonly userId: string;
}

/** What a step's scan read from its cursor on. */
interface Scan {
  readonly rows: readonly FoundRow[];
  /** Where the next step reads from (unchanged when nothing was read). */
  readonly cursor: string;
  /** True when the target has no rows past `cursor`. */
  readonly last: boolean;
}

/** A part's state, as stored. */
interface PartState {
  readonly cursor: string;
  readonly removed: number;
  readonly done: boolean;
  /** When a user part's first step ran (ms since the epoch), when it waits for the index. */
  readonly startedAt: number | undefined;
}

/**
 * The erasures of the DynamoDB likes store, kept in the positions table next to the ingest's fence:
 * one item per erasure (`kind` = `erasure#<user|post>#<target>`, `id` = `<acceptedAt>#<erasureId>`,
 * so the latest sorts last) and one per part (`kind` = `erasure-part#<erasureId>`, `id` = the log
 * partition) holding the scan cursor, the removed count and whether it is done.
 *
 * DynamoDB has no transaction of unbounded size, so a step is crash-safe write by write instead:
 * 1. it claims the marker's partition like an apply (`DynamoFence.claim`: the stored position must
 *    be the marker's; a position past it means the part is done, and the step is refused);
 * 2. it reads up to `limit` rows past the part's cursor and keeps those of its partition;
 * 3. it deletes them in TransactWriteItems of at most 100 actions, each holding the fence's holder
 *    check, the lock-bucket checks an apply carries (a recount never counts half a step), the
 *    conditional deletes (`attribute_exists`: a REMOVE stream record, so a -1 in the feed, exists
 *    only for a row really deleted) and `ADD removed :n` on the part item. The count is committed
 *    with exactly the deletes it counts, so a crash between two transactions loses nothing and a
 *    redo counts nothing twice: a row already deleted fails its condition and is dropped from the
 *    redone transaction;
 * 4. one last transaction stores the cursor and, when the scan reached the end, `done` together
 *    with the position past the marker, and lets go of the partition.
 * A crash before 4 leaves the cursor where it was: the redo scans those rows again, and finds only
 * the ones not yet deleted. No other writer can touch the part's rows meanwhile: their events all
 * travel through the fenced partition.
 *
 * Post erasures read the base table, every shard of the post with strongly consistent queries, so a
 * like applied just before the marker is always found. User erasures read the by-user global
 * secondary index (`likesOf`), the only index of a user's likes: on AWS a GSI is eventually
 * consistent, so a like applied in the instant before the marker may show up there a moment late.
 * Ingest applies every event before the marker, then calls the first step: a user part's first
 * step only records when it ran, and the steps until `indexLagMs` later answer "not done" without
 * scanning, so the scan starts once the likes written before the marker have reached the index
 * (unless it lags more than that; the emulator's index is synchronous, and there it scans at
 * once). A row the index still shows after its delete fails its condition and counts nothing.
 */
export class DynamoErasures {
  readonly #d: DynamoErasuresDeps;

  constructor(deps: DynamoErasuresDeps) {
    this.#d = deps;
  }

  async step(marker: ErasureMarker, place: MarkerPlace, limit: number): Promise<EraseStepResult> {
    const d = this.#d;
    const settles = marker.op === 'erase-user' && d.indexLagMs > 0;
    if (settles) {
      // Waiting for the index: nothing to write, so no claim (the claim of the step that scans fences it).
      const startedAt = (await this.#part(marker.erasureId, place.partition))?.startedAt;
      if (startedAt !== undefined && Date.now() < startedAt + d.indexLagMs) return { removed: 0, done: false };
    }
    const at = { partition: place.partition, offset: place.offset };
    const holder = randomUUID();
    await d.fence.claim([at], [], holder, d.leaseMs, true);
    try {
      const part = await this.#part(marker.erasureId, place.partition);
      if (part === undefined) await this.accepted(marker, markerPartitions(marker, place.partitions).length);
      const cursor = part?.cursor ?? '';
      if (settles && part?.startedAt === undefined) {
        await this.#save(marker.erasureId, place, { rows: [], cursor, last: false }, holder, Date.now());
        return { removed: 0, done: false };
      }
      // A done part has its position past the marker in the same transaction, so the claim refused it already.
      const scan: Scan = part?.done === true ? { rows: [], cursor, last: true } : marker.op === 'erase-user' ? await this.#userRows(marker.target, cursor, limit) : await this.#postRows(marker.target, cursor, limit);
      const doomed = scan.rows.filter((row) => rowInPartition(marker, row.postId, row.userId, place.partition, place.partitions));
      let removed = 0;
      for (const group of packTransactions(doomed, 2)) removed += await this.#remove(marker.erasureId, place.partition, group, holder);
      await this.#save(marker.erasureId, place, scan, holder);
      return { removed, done: scan.last };
    } catch (error) {
      // Let go without moving the position, so the retry need not wait for the lease.
      await d.fence.release([place.partition], [], holder).catch(() => undefined);
      throw error;
    }
  }

  async accepted(marker: ErasureMarker, partitionsTotal: number): Promise<void> {
    const d = this.#d;
    try {
      await withRetry(d.endpoint, () =>
        d.client.send(
          new PutItemCommand({
            TableName: d.names.positions,
            Item: { ...erasureKey(erasureKind(marker), marker.target, marker.at, marker.erasureId), erasureId: str(marker.erasureId), acceptedAt: num(marker.at), partitionsTotal: num(partitionsTotal) },
            ConditionExpression: 'attribute_not_exists(id)',
          }),
        ),
      );
    } catch (error) {
      if (awsErrorName(error) !== 'ConditionalCheckFailedException') throw error;
    }
  }

  async status(kind: ErasureKind, target: string): Promise<ErasureStatus | undefined> {
    const d = this.#d;
    const latest = await withRetry(d.endpoint, () =>
      d.client.send(
        new QueryCommand({
          TableName: d.names.positions,
          KeyConditionExpression: '#k = :k',
          ExpressionAttributeNames: { '#k': 'kind' },
          ExpressionAttributeValues: { ':k': str(erasuresOf(kind, target)) },
          ScanIndexForward: false,
          Limit: 1,
          ConsistentRead: true,
        }),
      ),
    );
    const item = latest.Items?.[0];
    const erasureId = getS(item, 'erasureId');
    if (item === undefined || erasureId === undefined) return undefined;
    const parts = await this.#parts(erasureId);
    const partitionsTotal = getN(item, 'partitionsTotal') ?? 0;
    const partitionsDone = parts.filter((p) => p.done).length;
    return {
      erasureId,
      kind,
      target,
      status: partitionsDone >= partitionsTotal ? 'applied' : 'pending',
      removed: parts.reduce((sum, p) => sum + p.removed, 0),
      partitionsDone,
      partitionsTotal,
      acceptedAt: getN(item, 'acceptedAt') ?? 0,
    };
  }

  async #part(erasureId: string, partition: number): Promise<PartState | undefined> {
    const d = this.#d;
    const found = await withRetry(d.endpoint, () => d.client.send(new GetItemCommand({ TableName: d.names.positions, Key: partKey(erasureId, partition), ConsistentRead: true })));
    return found.Item === undefined ? undefined : toPart(found.Item);
  }

  async #parts(erasureId: string): Promise<PartState[]> {
    const d = this.#d;
    const out: PartState[] = [];
    let start: Item | undefined;
    do {
      const page = await withRetry(d.endpoint, () =>
        d.client.send(
          new QueryCommand({
            TableName: d.names.positions,
            KeyConditionExpression: '#k = :k',
            ExpressionAttributeNames: { '#k': 'kind' },
            ExpressionAttributeValues: { ':k': str(partsOf(erasureId)) },
            ConsistentRead: true,
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        ),
      );
      for (const item of page.Items ?? []) out.push(toPart(item));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }

  /** Up to `limit` of the user's likes past the cursor, from the by-user index (newest first, ties by post id). */
  async #userRows(userId: string, cursor: string, limit: number): Promise<Scan> {
    const page = await this.#d.userLikes(userId, limit, cursor === '' ? undefined : cursor);
    const last = page.items.at(-1);
    return { rows: page.items.map((item) => ({ postId: item.postId, userId })), cursor: last === undefined ? cursor : encodeUserLikesCursor(last), last: page.nextCursor === undefined };
  }

  /** Up to `limit` likes of the post past the cursor (`<shard> <userId>`), shard by shard, strongly consistent. */
  async #postRows(postId: string, cursor: string, limit: number): Promise<Scan> {
    const d = this.#d;
    const space = cursor.indexOf(' ');
    let shard = cursor === '' ? 0 : Number(cursor.slice(0, space));
    let after: string | undefined = cursor === '' ? undefined : cursor.slice(space + 1);
    const rows: FoundRow[] = [];
    let next = cursor;
    for (; shard < d.shards; shard++, after = undefined) {
      let start: Item | undefined;
      do {
        const want = limit - rows.length;
        const from = after;
        const page = await withRetry(d.endpoint, () =>
          d.client.send(
            new QueryCommand({
              TableName: d.names.likes,
              KeyConditionExpression: from === undefined ? 'pk = :pk' : 'pk = :pk AND sk > :after',
              ExpressionAttributeValues: { ':pk': str(`${shard}#${postId}`), ...(from === undefined ? {} : { ':after': str(from) }) },
              ProjectionExpression: 'sk',
              ConsistentRead: true,
              Limit: want,
              ...(start === undefined ? {} : { ExclusiveStartKey: start }),
            }),
          ),
        );
        for (const item of page.Items ?? []) {
          const userId = getS(item, 'sk') ?? '';
          rows.push({ postId, userId });
          next = `${shard} ${userId}`;
        }
        start = page.LastEvaluatedKey;
        if (rows.length >= limit) return { rows, cursor: next, last: false };
      } while (start !== undefined);
    }
    return { rows, cursor: next, last: true };
  }

  /**
   * Deletes one transaction's worth of rows and adds them to the part's removed count, atomically;
   * drops rows already gone (a redo after a crash) and waits out recounts holding their posts.
   */
  async #remove(erasureId: string, partition: number, rows: readonly FoundRow[], holder: string): Promise<number> {
    const d = this.#d;
    let pending = [...rows];
    const deadline = Date.now() + d.lockWaitMs;
    for (let attempt = 0; pending.length > 0; attempt++) {
      const buckets = [...new Set(pending.map((r) => bucketOf(r.postId)))];
      const fixed: TransactWriteItem[] = [
        ...d.fence.holderChecks([partition], holder),
        {
          Update: {
            TableName: d.names.positions,
            Key: partKey(erasureId, partition),
            UpdateExpression: 'ADD #r :n',
            ExpressionAttributeNames: { '#r': 'removed' },
            ExpressionAttributeValues: { ':n': num(pending.length) },
          },
        },
        ...d.locks.freeChecks(buckets, Date.now()),
      ];
      const deletes: TransactWriteItem[] = pending.map((r) => ({
        Delete: { TableName: d.names.likes, Key: likeKey(r.postId, r.userId, d.shards), ConditionExpression: 'attribute_exists(pk)' },
      }));
      try {
        await transactWrite(d.client, d.endpoint, [...fixed, ...deletes]);
        return pending.length;
      } catch (error) {
        if (!(error instanceof TransactionCancelled)) throw error;
        const failed = (i: number): boolean => error.reasons[i] === 'ConditionalCheckFailed';
        if (failed(0)) throw new TallyError('position_conflict', `likes store: another ingest took over partition ${partition} during an erasure step`, { cause: error, retriable: true });
        const gone = pending.filter((_, i) => failed(fixed.length + i));
        if (gone.length > 0) {
          pending = pending.filter((_, i) => !failed(fixed.length + i));
          continue;
        }
        // A recount holds a bucket: wait for it.
        if (Date.now() > deadline) throw new TallyError('backend_unavailable', `likes store: a recount has held these posts for over ${d.lockWaitMs} ms`, { cause: error, retriable: true });
        await sleep(10 + backoffMs(attempt, { baseMs: 20, maxMs: 500 }));
      }
    }
    return 0;
  }

  /** Stores the part's cursor (and `startedAt` when given) and, at its end, `done` with the position past the marker; lets go of the partition. */
  async #save(erasureId: string, place: MarkerPlace, scan: Scan, holder: string, startedAt?: number): Promise<void> {
    const d = this.#d;
    const to = scan.last ? [{ partition: place.partition, offset: place.offset + 1 }] : [];
    const actions: TransactWriteItem[] = [
      ...d.fence.releaseActions([place.partition], to, holder),
      {
        Update: {
          TableName: d.names.positions,
          Key: partKey(erasureId, place.partition),
          UpdateExpression: startedAt === undefined ? 'SET #c = :c, #d = :d' : 'SET #c = :c, #d = :d, #s = :s',
          ExpressionAttributeNames: { '#c': 'cursor', '#d': 'done', ...(startedAt === undefined ? {} : { '#s': 'startedAt' }) },
          ExpressionAttributeValues: { ':c': str(scan.cursor), ':d': num(scan.last ? 1 : 0), ...(startedAt === undefined ? {} : { ':s': num(startedAt) }) },
        },
      },
    ];
    try {
      await transactWrite(d.client, d.endpoint, actions);
    } catch (error) {
      if (!(error instanceof TransactionCancelled)) throw error;
      throw new TallyError('position_conflict', `likes store: another ingest took over partition ${place.partition} before an erasure step was saved`, { cause: error, retriable: true });
    }
  }
}

const erasuresOf = (kind: ErasureKind, target: string): string => `erasure#${kind}#${target}`;
const partsOf = (erasureId: string): string => `erasure-part#${erasureId}`;

function erasureKey(kind: ErasureKind, target: string, acceptedAt: number, erasureId: string): Item {
  return { kind: str(erasuresOf(kind, target)), id: str(`${String(acceptedAt).padStart(16, '0')}#${erasureId}`) };
}

function partKey(erasureId: string, partition: number): Item {
  return { kind: str(partsOf(erasureId)), id: str(String(partition).padStart(6, '0')) };
}

function toPart(item: Item): PartState {
  return { cursor: getS(item, 'cursor') ?? '', removed: getN(item, 'removed') ?? 0, done: getN(item, 'done') === 1, startedAt: getN(item, 'startedAt') };
}
