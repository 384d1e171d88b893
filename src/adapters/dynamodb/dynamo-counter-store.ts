import { DeleteItemCommand, GetItemCommand, QueryCommand, UpdateItemCommand, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import type { CounterUpdate } from '../../domain/aggregate.ts';
import type { StreamPosition } from '../../domain/change.ts';
import { TallyError } from '../../domain/errors.ts';
import type { CounterBatch, CounterStore, VersionedCount } from '../../ports/counter-store.ts';
import { batchGet, batchWrite, chunks, getN, getS, mapLimit, num, str, type Item } from './dynamo-batch.ts';
import { awsErrorName, createDynamoClient, withRetry, type DynamoSettings } from './dynamo-client.ts';
import { DynamoFence, partitionsOf } from './dynamo-fence.ts';
import { dynamoTableNames, type DynamoTableNames } from './dynamo-tables.ts';

export interface DynamoCounterStoreOptions extends DynamoSettings {
  /** How long a counter batch's claim stands before another counter may finish it (default 5 s). */
  readonly leaseMs?: number;
}

/** Updates per redo item: ~100 bytes each keeps an item well under DynamoDB's 400 KB. */
const REDO_CHUNK = 2000;
/** Count updates in flight at once. */
const UPDATE_CONCURRENCY = 16;

interface Redo {
  readonly seq: number;
  readonly to: readonly StreamPosition[];
  readonly updates: ReadonlyMap<string, CounterUpdate>;
}

/**
 * The DynamoDB counter store. Table `<ns>-counts`: `{postId, count, seq}`; positions in the
 * positions table (`kind` = `counter`). DynamoDB has no transaction for a batch of thousands of
 * posts, so a batch is made exactly-once with a redo log and a sequence:
 *
 * 1. the batch takes the next number `seq` (an atomic counter) and writes its updates as redo
 *    items (`kind` = `batch`);
 * 2. it claims its partitions: offsets equal `from` and no other batch pending (a conditional
 *    transaction), else `position_conflict`;
 * 3. each post is updated with `SET count = …, seq = :seq` on the condition `seq < :seq`, so an
 *    update is applied once even when two processes run it;
 * 4. the claim is released with the offsets of `to`, and the redo items deleted.
 *
 * A counter that dies between 2 and 4 leaves its claim; once the lease ran out, the next counter
 * finishes the batch from its redo items (step 3 is idempotent) before it moves on, so a replay
 * with other batch boundaries never counts a change twice. A count's version is the `seq` of the
 * batch that last wrote it, so versions only grow.
 */
export class DynamoCounterStore implements CounterStore {
  readonly #options: DynamoCounterStoreOptions;
  readonly #names: DynamoTableNames;
  #client: DynamoDBClient | undefined;
  #fence: DynamoFence | undefined;
  /**
   * Counts written while finishing another counter's abandoned batch: that counter died before it
   * could write them to the cache, so they go out with this store's next applied batch (else the
   * cache could keep a count from before the abandoned batch until the post changes again).
   */
  readonly #finishedCounts = new Map<string, VersionedCount>();

  constructor(options: DynamoCounterStoreOptions) {
    this.#options = options;
    this.#names = dynamoTableNames(options.namespace);
  }

  async init(): Promise<void> {
    if (this.#client !== undefined) return;
    this.#client = createDynamoClient(this.#options);
    this.#fence = new DynamoFence({ client: this.#client, endpoint: this.#options.endpoint, table: this.#names.positions }, 'counter', 'counter store (feed positions)');
  }

  async close(): Promise<void> {
    this.#client?.destroy();
    this.#client = undefined;
  }

  get #db(): { client: DynamoDBClient; fence: DynamoFence } {
    if (this.#client === undefined || this.#fence === undefined) throw new TallyError('not_ready', 'the DynamoDB counter store is not initialised', { retriable: true });
    return { client: this.#client, fence: this.#fence };
  }

  async apply(batch: CounterBatch): Promise<VersionedCount[]> {
    const db = this.#db;
    const seq = await this.#nextSeq();
    const redo: Redo = { seq, to: batch.to, updates: batch.updates };
    await this.#writeRedo(redo);
    const partitions = partitionsOf(batch.from, batch.to);
    try {
      await db.fence.claim(batch.from, batch.to, String(seq), this.#options.leaseMs ?? 5000, false);
    } catch (error) {
      await this.#deleteRedo(seq).catch(() => undefined);
      if (error instanceof TallyError && error.code === 'position_conflict') await this.#finishAbandoned(partitions);
      throw error;
    }
    const counts = await this.#applyUpdates(redo);
    try {
      await db.fence.release(partitions, batch.to, String(seq));
    } catch (error) {
      // Another counter found the claim lapsed and finished this very batch (same seq): done.
      if (!(error instanceof TallyError && error.code === 'position_conflict')) throw error;
    }
    await this.#deleteRedo(seq).catch(() => undefined);
    return this.#withFinished(counts);
  }

  /** This batch's counts plus those of finished abandoned batches, newest version per post. */
  #withFinished(counts: VersionedCount[]): VersionedCount[] {
    if (this.#finishedCounts.size === 0) return counts;
    const newest = new Map(this.#finishedCounts);
    this.#finishedCounts.clear();
    for (const c of counts) if ((newest.get(c.postId)?.version ?? -1) <= c.version) newest.set(c.postId, c);
    return [...newest.values()];
  }

  positions(): Promise<StreamPosition[]> {
    return this.#db.fence.read();
  }

  async getMany(postIds: readonly string[]): Promise<Map<string, VersionedCount>> {
    const unique = [...new Set(postIds)];
    const found = await batchGet(this.#db.client, this.#options.endpoint, this.#names.counts, unique.map((postId) => ({ postId: str(postId) })));
    return new Map(found.map((item) => [getS(item, 'postId') ?? '', toCount(item)]));
  }

  async #nextSeq(): Promise<number> {
    const result = await withRetry(this.#options.endpoint, () =>
      this.#db.client.send(
        new UpdateItemCommand({
          TableName: this.#names.positions,
          Key: { kind: str('seq'), id: str('counter') },
          UpdateExpression: 'ADD #n :one',
          ExpressionAttributeNames: { '#n': 'n' },
          ExpressionAttributeValues: { ':one': num(1) },
          ReturnValues: 'UPDATED_NEW',
        }),
      ),
    );
    const seq = getN(result.Attributes, 'n');
    if (seq === undefined) throw new Error('counter store: the sequence item returned no number');
    return seq;
  }

  #redoKey(seq: number, part: number): Item {
    return { kind: str('batch'), id: str(`${redoPrefix(seq)}${String(part).padStart(4, '0')}`) };
  }

  async #writeRedo(redo: Redo): Promise<void> {
    const entries = [...redo.updates].map(([postId, u]) => [postId, u.base ?? null, u.delta]);
    const parts = chunks(entries, REDO_CHUNK);
    if (parts.length === 0) parts.push([]);
    const requests: WriteRequest[] = parts.map((part, i) => ({
      PutRequest: { Item: { ...this.#redoKey(redo.seq, i), parts: num(parts.length), to: str(JSON.stringify(redo.to)), updates: str(JSON.stringify(part)) } },
    }));
    await batchWrite(this.#db.client, this.#options.endpoint, this.#names.positions, requests);
  }

  async #readRedo(seq: number): Promise<Redo | undefined> {
    const result = await withRetry(this.#options.endpoint, () =>
      this.#db.client.send(
        new QueryCommand({
          TableName: this.#names.positions,
          ...redoItemsOf(seq),
          ConsistentRead: true,
        }),
      ),
    );
    const items = result.Items ?? [];
    const first = items[0];
    if (first === undefined || items.length !== getN(first, 'parts')) return undefined;
    const updates = new Map<string, CounterUpdate>();
    for (const item of items) {
      for (const [postId, base, delta] of JSON.parse(getS(item, 'updates') ?? '[]') as [string, number | null, number][]) updates.set(postId, { base: base ?? undefined, delta });
    }
    return { seq, to: JSON.parse(getS(first, 'to') ?? '[]') as StreamPosition[], updates };
  }

  async #deleteRedo(seq: number): Promise<void> {
    const result = await withRetry(this.#options.endpoint, () =>
      this.#db.client.send(
        new QueryCommand({
          TableName: this.#names.positions,
          ...redoItemsOf(seq),
          ProjectionExpression: '#k, #i',
        }),
      ),
    );
    await mapLimit(result.Items ?? [], 8, (item) => withRetry(this.#options.endpoint, () => this.#db.client.send(new DeleteItemCommand({ TableName: this.#names.positions, Key: item }))));
  }

  /** Applies each update once: a post already written by this batch (or a later one) is left alone and read back. */
  async #applyUpdates(redo: Redo): Promise<VersionedCount[]> {
    return mapLimit([...redo.updates], UPDATE_CONCURRENCY, async ([postId, update]) => {
      const values = { ':seq': num(redo.seq), ...(update.base === undefined ? { ':zero': num(0), ':d': num(update.delta) } : { ':v': num(update.base + update.delta) }) };
      try {
        const result = await withRetry(this.#options.endpoint, () =>
          this.#db.client.send(
            new UpdateItemCommand({
              TableName: this.#names.counts,
              Key: { postId: str(postId) },
              UpdateExpression: update.base === undefined ? 'SET #c = if_not_exists(#c, :zero) + :d, #s = :seq' : 'SET #c = :v, #s = :seq',
              ConditionExpression: 'attribute_not_exists(#s) OR #s < :seq',
              ExpressionAttributeNames: { '#c': 'count', '#s': 'seq' },
              ExpressionAttributeValues: values,
              ReturnValues: 'ALL_NEW',
            }),
          ),
        );
        return toCount(result.Attributes ?? {});
      } catch (error) {
        if (awsErrorName(error) !== 'ConditionalCheckFailedException') throw error;
        const stored = await withRetry(this.#options.endpoint, () => this.#db.client.send(new GetItemCommand({ TableName: this.#names.counts, Key: { postId: str(postId) }, ConsistentRead: true })));
        return toCount(stored.Item ?? { postId: str(postId) });
      }
    });
  }

  /** Finishes the batches whose claim lapsed (their counter died mid-way) from their redo items. */
  async #finishAbandoned(partitions: readonly number[]): Promise<void> {
    const now = Date.now();
    const lapsed = new Set((await this.#db.fence.get(partitions)).filter((f) => f.holder !== undefined && f.leaseUntil < now).map((f) => Number(f.holder)));
    for (const seq of lapsed) {
      const redo = await this.#readRedo(seq);
      if (redo === undefined) continue;
      for (const c of await this.#applyUpdates(redo)) {
        if ((this.#finishedCounts.get(c.postId)?.version ?? -1) < c.version) this.#finishedCounts.set(c.postId, c);
      }
      const held = (await this.#db.fence.items()).filter((f) => f.holder === String(seq)).map((f) => f.partition);
      await this.#db.fence.release(held, redo.to, String(seq)).catch(() => undefined);
      await this.#deleteRedo(seq).catch(() => undefined);
    }
  }
}

function toCount(item: Item): VersionedCount {
  return { postId: getS(item, 'postId') ?? '', count: getN(item, 'count') ?? 0, version: getN(item, 'seq') ?? 0 };
}

/** The key condition of the redo items of batch `seq` in the positions table. */
function redoItemsOf(seq: number) {
  return {
    KeyConditionExpression: '#k = :k AND begins_with(#i, :p)',
    ExpressionAttributeNames: { '#k': 'kind', '#i': 'id' },
    ExpressionAttributeValues: { ':k': str('batch'), ':p': str(redoPrefix(seq)) },
  };
}

/** The id prefix of batch `seq`'s redo items (`<seq, 16 digits>#<part, 4 digits>`). */
function redoPrefix(seq: number): string {
  return `${String(seq).padStart(16, '0')}#`;
}
