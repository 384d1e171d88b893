import { QueryCommand, type DynamoDBClient, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import type { StreamPosition } from '../../domain/change.ts';
import { TallyError } from '../../domain/errors.ts';
import { batchGet, getN, getS, num, str, transactWrite, TransactionCancelled, type Item } from './dynamo-batch.ts';
import { withRetry } from './dynamo-client.ts';

/** The fence item of one partition, as stored. */
export interface FenceItem {
  readonly partition: number;
  readonly offset: number;
  /** Who holds the partition while a batch is being applied (an ingest's token, a counter batch's sequence). */
  readonly holder: string | undefined;
  /** Until when the holder's claim stands (ms since the epoch). */
  readonly leaseUntil: number;
}

const partitionId = (partition: number): string => String(partition).padStart(6, '0');

/**
 * Per-partition positions of a stage (`kind` = `ingest` or `counter`) in the positions table:
 * `{kind, id: partition, offset, holder, leaseUntil}`. DynamoDB has no transaction spanning a whole
 * batch, so a batch is fenced in three steps: `claim` checks `from` and takes the partitions for a
 * holder (a conditional transaction over the partition items), the batch is applied in chunks that
 * each re-check the holder (`holderChecks`), and `release` stores `to` and lets go, again only if
 * the holder still holds them. A stale process whose claim was lost can then never write.
 */
export class DynamoFence {
  readonly #client: DynamoDBClient;
  readonly #endpoint: string;
  readonly #table: string;
  readonly #kind: string;
  readonly #what: string;

  constructor(deps: { client: DynamoDBClient; endpoint: string; table: string }, kind: 'ingest' | 'counter', what: string) {
    this.#client = deps.client;
    this.#endpoint = deps.endpoint;
    this.#table = deps.table;
    this.#kind = kind;
    this.#what = what;
  }

  #key(partition: number): Item {
    return { kind: str(this.#kind), id: str(partitionId(partition)) };
  }

  /** The stored positions (offset > 0), by partition. */
  async read(): Promise<StreamPosition[]> {
    return (await this.items()).filter((f) => f.offset > 0).map((f) => ({ partition: f.partition, offset: f.offset }));
  }

  /** Every fence item of this kind (strongly consistent). */
  async items(): Promise<FenceItem[]> {
    const out: FenceItem[] = [];
    let start: Item | undefined;
    do {
      const page = await withRetry(this.#endpoint, () =>
        this.#client.send(
          new QueryCommand({
            TableName: this.#table,
            KeyConditionExpression: '#k = :k',
            ExpressionAttributeNames: { '#k': 'kind' },
            ExpressionAttributeValues: { ':k': str(this.#kind) },
            ConsistentRead: true,
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        ),
      );
      for (const item of page.Items ?? []) out.push(toFence(item));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out.sort((a, b) => a.partition - b.partition);
  }

  /** The fence items of some partitions (strongly consistent). */
  async get(partitions: readonly number[]): Promise<FenceItem[]> {
    return (await batchGet(this.#client, this.#endpoint, this.#table, partitions.map((p) => this.#key(p)))).map(toFence);
  }

  /**
   * Takes the batch's partitions for `holder` when their offsets equal `from` (a missing item is at
   * 0) and no one else holds them; with `takeOverExpired`, a holder whose lease ran out is replaced.
   * Throws a retriable `position_conflict` otherwise, having changed nothing.
   */
  async claim(from: readonly StreamPosition[], to: readonly StreamPosition[], holder: string, leaseMs: number, takeOverExpired: boolean): Promise<void> {
    const expected = new Map(from.map((p) => [p.partition, p.offset]));
    const partitions = partitionsOf(from, to);
    const now = Date.now();
    const actions: TransactWriteItem[] = partitions.map((partition) => {
      const offset = expected.get(partition);
      const conditions = [takeOverExpired ? '(attribute_not_exists(#h) OR #h = :me OR #l < :now)' : '(attribute_not_exists(#h) OR #h = :me)'];
      if (offset !== undefined) conditions.push(offset === 0 ? '(attribute_not_exists(#o) OR #o = :f)' : '#o = :f');
      return {
        Update: {
          TableName: this.#table,
          Key: this.#key(partition),
          UpdateExpression: 'SET #h = :me, #l = :until',
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: { '#h': 'holder', '#l': 'leaseUntil', ...(offset === undefined ? {} : { '#o': 'offset' }) },
          ExpressionAttributeValues: { ':me': str(holder), ':until': num(now + leaseMs), ...(takeOverExpired ? { ':now': num(now) } : {}), ...(offset === undefined ? {} : { ':f': num(offset) }) },
        },
      };
    });
    for (let i = 0; i < actions.length; i += 100) {
      try {
        await transactWrite(this.#client, this.#endpoint, actions.slice(i, i + 100));
      } catch (error) {
        if (!(error instanceof TransactionCancelled)) throw error;
        await this.release(partitions, [], holder).catch(() => undefined);
        const stored = await this.get(partitions);
        const detail = stored.map((f) => `partition ${f.partition} at ${f.offset}${f.holder !== undefined && f.holder !== holder ? ` held by ${f.holder} until ${new Date(f.leaseUntil).toISOString()}` : ''}`).join(', ');
        throw new TallyError('position_conflict', `${this.#what}: the batch starts at ${from.map((p) => `${p.partition}:${p.offset}`).join(', ')} but the store has ${detail}`, { cause: error, retriable: true });
      }
    }
  }

  /** ConditionChecks for a transaction: the holder still holds these partitions. */
  holderChecks(partitions: readonly number[], holder: string): TransactWriteItem[] {
    return partitions.map((partition) => ({
      ConditionCheck: {
        TableName: this.#table,
        Key: this.#key(partition),
        ConditionExpression: '#h = :me',
        ExpressionAttributeNames: { '#h': 'holder' },
        ExpressionAttributeValues: { ':me': str(holder) },
      },
    }));
  }

  /**
   * Stores `to` and lets go of the partitions, if the holder still holds them (else a retriable
   * `position_conflict`: someone took them over).
   */
  async release(partitions: readonly number[], to: readonly StreamPosition[], holder: string): Promise<void> {
    const actions = this.releaseActions(partitions, to, holder);
    for (let i = 0; i < actions.length; i += 100) {
      try {
        await transactWrite(this.#client, this.#endpoint, actions.slice(i, i + 100));
      } catch (error) {
        if (!(error instanceof TransactionCancelled)) throw error;
        throw new TallyError('position_conflict', `${this.#what}: another process took over partitions ${partitions.join(', ')} before this batch was done`, { cause: error, retriable: true });
      }
    }
  }

  /**
   * The updates of `release`, for a caller that commits them in its own transaction with other
   * writes (an erasure step stores its part's state with the position past the marker).
   */
  releaseActions(partitions: readonly number[], to: readonly StreamPosition[], holder: string): TransactWriteItem[] {
    const offsets = new Map(to.map((p) => [p.partition, p.offset]));
    return partitions.map((partition) => {
      const offset = offsets.get(partition);
      return {
        Update: {
          TableName: this.#table,
          Key: this.#key(partition),
          UpdateExpression: offset === undefined ? 'REMOVE #h, #l' : 'SET #o = :t REMOVE #h, #l',
          ConditionExpression: '#h = :me',
          ExpressionAttributeNames: { '#h': 'holder', '#l': 'leaseUntil', ...(offset === undefined ? {} : { '#o': 'offset' }) },
          ExpressionAttributeValues: { ':me': str(holder), ...(offset === undefined ? {} : { ':t': num(offset) }) },
        },
      };
    });
  }
}

/** Every partition a fenced batch names, sorted. */
export function partitionsOf(from: readonly StreamPosition[], to: readonly StreamPosition[]): number[] {
  return [...new Set([...from, ...to].map((p) => p.partition))].sort((a, b) => a - b);
}

function toFence(item: Item): FenceItem {
  return { partition: Number(getS(item, 'id') ?? -1), offset: getN(item, 'offset') ?? 0, holder: getS(item, 'holder'), leaseUntil: getN(item, 'leaseUntil') ?? 0 };
}
