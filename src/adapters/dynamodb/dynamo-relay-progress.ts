import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { TallyError } from '../../domain/errors.ts';
import type { SourceProgress } from '../../ports/source-progress.ts';
import { getN, num, str } from './dynamo-batch.ts';
import { isLocalEndpoint, withRetry } from './dynamo-client.ts';

/** The checkpoint-table item where the capture records how far its relay is confirmed. */
const RELAY_ID = 'relay';

/**
 * How long after a write its record may still be missing from the stream. AWS publishes stream
 * records asynchronously (usually well under a second); the emulator does it inside the write.
 */
export function streamLagMs(endpoint: string): number {
  return isLocalEndpoint(endpoint) ? 0 : 2000;
}

/** Milliseconds as a fixed-width sortable mark (16 hex digits), like the PostgreSQL profile's LSNs. */
export function timeMark(ms: number): string {
  return Math.max(0, Math.floor(ms)).toString(16).padStart(16, '0');
}

/**
 * How far the stream capture has relayed, as a time: `confirmedAt` = the start of the last round
 * in which the capture read every open shard of the stream to its end and Kafka acknowledged what
 * it read. Every write committed `streamLagMs` before that time is in the change feed. This is the
 * DynamoDB profile's `source` progress (`?wait=applied`) and the barrier of a recount.
 */
export class DynamoRelayProgress implements SourceProgress {
  readonly #client: DynamoDBClient;
  readonly #endpoint: string;
  readonly #table: string;

  constructor(deps: { client: DynamoDBClient; endpoint: string; table: string }) {
    this.#client = deps.client;
    this.#endpoint = deps.endpoint;
    this.#table = deps.table;
  }

  /** The source's mark now: every write committed so far is in the stream by this time. */
  async sourceMark(): Promise<string> {
    return timeMark(Date.now() + streamLagMs(this.#endpoint));
  }

  async confirmedAt(): Promise<number> {
    const result = await withRetry(this.#endpoint, () => this.#client.send(new GetItemCommand({ TableName: this.#table, Key: { id: str(RELAY_ID) }, ConsistentRead: true })), { attempts: 3 });
    return getN(result.Item, 'confirmedAt') ?? 0;
  }

  async relayConfirmed(): Promise<string> {
    return timeMark(await this.confirmedAt());
  }

  /** Records a confirmed time (never moving it back). */
  async confirm(at: number): Promise<void> {
    try {
      await withRetry(this.#endpoint, () =>
        this.#client.send(
          new PutItemCommand({
            TableName: this.#table,
            Item: { id: str(RELAY_ID), confirmedAt: num(at) },
            ConditionExpression: 'attribute_not_exists(confirmedAt) OR confirmedAt < :at',
            ExpressionAttributeValues: { ':at': num(at) },
          }),
        ),
      );
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
    }
  }

  /**
   * Waits until every write committed before `writtenAt` is in the change feed; a retriable
   * `backend_unavailable` after `timeoutMs` (no `cdc` stage running, or it is stuck).
   */
  async waitRelayed(writtenAt: number, timeoutMs: number): Promise<void> {
    const target = writtenAt + streamLagMs(this.#endpoint);
    const deadline = Date.now() + timeoutMs;
    while ((await this.confirmedAt()) < target) {
      if (Date.now() > deadline) {
        throw new TallyError('backend_unavailable', `the DynamoDB stream has not been relayed past ${new Date(target).toISOString()} within ${timeoutMs} ms: is a cdc stage running (./tally cdc --store dynamodb)?`, { retriable: true });
      }
      await sleep(20);
    }
  }
}
