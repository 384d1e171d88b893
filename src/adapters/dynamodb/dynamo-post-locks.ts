import { UpdateItemCommand, type DynamoDBClient, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { TallyError } from '../../domain/errors.ts';
import { fnv1a } from '../../domain/hash.ts';
import { awsErrorName, backoffMs, withRetry } from './dynamo-client.ts';
import { num, str, type Item } from './dynamo-batch.ts';

/**
 * Posts are locked for a recount through 64 lock items (`kind` = `lock` in the positions table)
 * rather than one per post: an apply's transaction checks the lock of every bucket it writes to,
 * so fewer buckets means fewer checks per transaction. Two posts sharing a bucket only wait for
 * each other during a recount.
 */
export const LOCK_BUCKETS = 64;

export function bucketOf(postId: string): number {
  return fnv1a(postId) % LOCK_BUCKETS;
}

/**
 * Recount locks: a recount takes its posts' buckets (a conditional update with an owner and a
 * lease), and every apply transaction carries a ConditionCheck that its buckets are free, so no
 * apply commits while a recount of those posts counts and writes its marker. A crashed recount's
 * lock lapses with its lease.
 */
export class DynamoPostLocks {
  readonly #client: DynamoDBClient;
  readonly #endpoint: string;
  readonly #table: string;

  constructor(deps: { client: DynamoDBClient; endpoint: string; table: string }) {
    this.#client = deps.client;
    this.#endpoint = deps.endpoint;
    this.#table = deps.table;
  }

  #key(bucket: number): Item {
    return { kind: str('lock'), id: str(String(bucket).padStart(4, '0')) };
  }

  /** ConditionChecks for an apply's transaction: these buckets are not locked (or their lease ran out). */
  freeChecks(buckets: readonly number[], now: number): TransactWriteItem[] {
    return buckets.map((bucket) => ({
      ConditionCheck: {
        TableName: this.#table,
        Key: this.#key(bucket),
        ConditionExpression: 'attribute_not_exists(#h) OR #l < :now',
        ExpressionAttributeNames: { '#h': 'holder', '#l': 'leaseUntil' },
        ExpressionAttributeValues: { ':now': num(now) },
      },
    }));
  }

  /** Takes the buckets of `postIds` for `holder`, in one global order, waiting (up to `timeoutMs`) for other recounts. */
  async acquire(postIds: readonly string[], holder: string, leaseMs: number, timeoutMs: number): Promise<number[]> {
    const buckets = [...new Set(postIds.map(bucketOf))].sort((a, b) => a - b);
    const deadline = Date.now() + timeoutMs;
    const taken: number[] = [];
    for (let attempt = 0; ; attempt++) {
      try {
        for (const bucket of buckets) {
          if (taken.includes(bucket)) continue;
          const now = Date.now();
          await withRetry(this.#endpoint, () =>
            this.#client.send(
              new UpdateItemCommand({
                TableName: this.#table,
                Key: this.#key(bucket),
                UpdateExpression: 'SET #h = :me, #l = :until',
                ConditionExpression: 'attribute_not_exists(#h) OR #h = :me OR #l < :now',
                ExpressionAttributeNames: { '#h': 'holder', '#l': 'leaseUntil' },
                ExpressionAttributeValues: { ':me': str(holder), ':until': num(now + leaseMs), ':now': num(now) },
              }),
            ),
          );
          taken.push(bucket);
        }
        return buckets;
      } catch (error) {
        if (awsErrorName(error) !== 'ConditionalCheckFailedException') {
          await this.release(taken, holder);
          throw error;
        }
        if (Date.now() > deadline) {
          await this.release(taken, holder);
          throw new TallyError('backend_unavailable', `recount: the posts' locks are held by another recount for over ${timeoutMs} ms; retry later`, { retriable: true });
        }
        await sleep(50 + backoffMs(attempt, { baseMs: 50, maxMs: 500 }));
      }
    }
  }

  /** Lets go of the buckets the holder still holds. */
  async release(buckets: readonly number[], holder: string): Promise<void> {
    await Promise.all(
      buckets.map(async (bucket) => {
        try {
          await withRetry(this.#endpoint, () =>
            this.#client.send(
              new UpdateItemCommand({
                TableName: this.#table,
                Key: this.#key(bucket),
                UpdateExpression: 'REMOVE #h, #l',
                ConditionExpression: '#h = :me',
                ExpressionAttributeNames: { '#h': 'holder', '#l': 'leaseUntil' },
                ExpressionAttributeValues: { ':me': str(holder) },
              }),
            ),
          );
        } catch (error) {
          if (awsErrorName(error) !== 'ConditionalCheckFailedException') throw error;
        }
      }),
    );
  }
}
