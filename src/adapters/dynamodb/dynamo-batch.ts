import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  TransactWriteItemsCommand,
  type AttributeValue,
  type DynamoDBClient,
  type TransactWriteItem,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { TallyError } from '../../domain/errors.ts';
import { awsErrorName, backoffMs, withRetry } from './dynamo-client.ts';

/** One stored item, as the low-level client gives it. */
export type Item = Record<string, AttributeValue>;

/** AWS refuses more than 25 requests in a BatchWriteItem (the emulator accepts 26: code to AWS). */
export const BATCH_WRITE_MAX = 25;
/** AWS refuses more than 100 keys in a BatchGetItem. */
export const BATCH_GET_MAX = 100;
/** AWS refuses more than 100 actions in a TransactWriteItems. */
export const TRANSACT_MAX = 100;
/** Rounds of UnprocessedItems / UnprocessedKeys retried before giving up. */
const UNPROCESSED_ROUNDS = 12;

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs `work` over `items` with at most `concurrency` in flight; rejects with the first failure. */
export async function mapLimit<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const run = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, run));
  return results;
}

/**
 * Strongly consistent reads of many keys of one table, 100 a call, in parallel; keys DynamoDB
 * leaves unprocessed (throttling) are asked again with jittered backoff.
 */
export async function batchGet(client: DynamoDBClient, endpoint: string, table: string, keys: readonly Item[], projection?: string): Promise<Item[]> {
  const found: Item[] = [];
  await mapLimit(chunks(keys, BATCH_GET_MAX), 8, async (chunk) => {
    let pending: Item[] = chunk;
    for (let round = 0; pending.length > 0; round++) {
      if (round >= UNPROCESSED_ROUNDS) throw new TallyError('backend_unavailable', `DynamoDB left ${pending.length} keys of ${table} unprocessed after ${round} rounds`, { retriable: true });
      if (round > 0) await sleep(backoffMs(round));
      const keysNow = pending;
      const result = await withRetry(endpoint, () =>
        client.send(new BatchGetItemCommand({ RequestItems: { [table]: { Keys: keysNow, ConsistentRead: true, ...(projection === undefined ? {} : { ProjectionExpression: projection }) } } })),
      );
      found.push(...(result.Responses?.[table] ?? []));
      pending = result.UnprocessedKeys?.[table]?.Keys ?? [];
    }
  });
  return found;
}

/**
 * Unconditional puts and deletes on one table, 25 a call (AWS's limit), in parallel; requests left
 * unprocessed are sent again with jittered backoff, so nothing is lost.
 */
export async function batchWrite(client: DynamoDBClient, endpoint: string, table: string, requests: readonly WriteRequest[]): Promise<void> {
  await mapLimit(chunks(requests, BATCH_WRITE_MAX), 8, async (chunk) => {
    let pending: WriteRequest[] = chunk;
    for (let round = 0; pending.length > 0; round++) {
      if (round >= UNPROCESSED_ROUNDS) throw new TallyError('backend_unavailable', `DynamoDB left ${pending.length} writes to ${table} unprocessed after ${round} rounds`, { retriable: true });
      if (round > 0) await sleep(backoffMs(round));
      const now = pending;
      const result = await withRetry(endpoint, () => client.send(new BatchWriteItemCommand({ RequestItems: { [table]: now } })));
      pending = result.UnprocessedItems?.[table] ?? [];
    }
  });
}

/** A transaction cancelled by DynamoDB, with the reason code of each action (`None` for those that were fine). */
export class TransactionCancelled extends Error {
  readonly reasons: readonly string[];
  constructor(reasons: readonly string[], cause: unknown) {
    super(`transaction cancelled: ${reasons.join(', ')}`, { cause });
    this.name = 'TransactionCancelled';
    this.reasons = reasons;
  }
  /** Whether only conditions failed (no conflict with another transaction, no throttling). */
  get onlyConditions(): boolean {
    return this.reasons.every((r) => r === 'None' || r === 'ConditionalCheckFailed') && this.reasons.includes('ConditionalCheckFailed');
  }
}

/**
 * One TransactWriteItems (at most 100 actions, all or nothing). Conflicts with other transactions
 * and throttling are retried with jittered backoff; failed conditions come out as `TransactionCancelled`.
 */
export async function transactWrite(client: DynamoDBClient, endpoint: string, actions: readonly TransactWriteItem[]): Promise<void> {
  if (actions.length > TRANSACT_MAX) throw new Error(`a transaction of ${actions.length} actions is over DynamoDB's ${TRANSACT_MAX}`);
  for (let attempt = 0; ; attempt++) {
    try {
      await withRetry(endpoint, () => client.send(new TransactWriteItemsCommand({ TransactItems: [...actions] })));
      return;
    } catch (error) {
      if (awsErrorName(error) !== 'TransactionCanceledException') throw error;
      const reasons = ((error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map((r) => r.Code ?? 'None');
      const cancelled = new TransactionCancelled(reasons, error);
      const transient = reasons.some((r) => r === 'TransactionConflict' || r === 'ThrottlingError' || r === 'ProvisionedThroughputExceeded');
      if (!transient || cancelled.reasons.includes('ConditionalCheckFailed') || attempt >= 10) {
        if (transient && !cancelled.reasons.includes('ConditionalCheckFailed')) {
          throw new TallyError('backend_unavailable', `DynamoDB kept cancelling a transaction (${reasons.join(', ')}); the operation can be retried`, { cause: error, retriable: true });
        }
        throw cancelled;
      }
      await sleep(backoffMs(attempt));
    }
  }
}

export const str = (value: string): AttributeValue => ({ S: value });
export const num = (value: number): AttributeValue => ({ N: String(value) });

/** A string attribute of an item, or undefined. */
export function getS(item: Item | undefined, name: string): string | undefined {
  const v = item?.[name];
  return v !== undefined && 'S' in v ? v.S : undefined;
}

/** A number attribute of an item, or undefined. */
export function getN(item: Item | undefined, name: string): number | undefined {
  const v = item?.[name];
  return v !== undefined && 'N' in v && v.N !== undefined ? Number(v.N) : undefined;
}
