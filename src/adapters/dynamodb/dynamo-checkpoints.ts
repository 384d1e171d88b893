import { GetItemCommand, ScanCommand, type DynamoDBClient, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { getN, getS, num, str, transactWrite, type Item } from './dynamo-batch.ts';
import { withRetry } from './dynamo-client.ts';
import type { ShardCheckpoint } from './stream-lineage.ts';

/** The records of one shard in a relay batch: after `after` (undefined: from TRIM_HORIZON) up to and including `to`. */
export interface ShardRange {
  readonly shardId: string;
  readonly after: string | undefined;
  /** The last record of the batch in this shard; undefined when the batch took none (a closed shard finished). */
  readonly to: string | undefined;
  /** The shard is closed and `to` is its last record. */
  readonly closed: boolean;
}

/** A relay batch being published: numbered, with the exact records it holds. */
export interface RelayPlan {
  readonly n: number;
  readonly ranges: readonly ShardRange[];
}

export interface CaptureState {
  readonly shards: Map<string, ShardCheckpoint>;
  /** The last batch number used. */
  readonly n: number;
  /** A batch written ahead but not committed: it must be relayed again, exactly. */
  readonly pending: RelayPlan | undefined;
}

/** The durable side of the stream capture; unit tests pass a fake. */
export interface CheckpointStore {
  load(): Promise<CaptureState>;
  /** Writes the plan of batch `n` before its changes are published. */
  writeAhead(plan: RelayPlan): Promise<void>;
  /** After Kafka acknowledged batch `n`: stores each shard's new checkpoint and clears the plan. */
  commit(n: number, checkpoints: ReadonlyMap<string, ShardCheckpoint>): Promise<void>;
}

const PLAN_ID = 'plan';
const SHARD_PREFIX = 'shard#';

/** The checkpoint table `<ns>-checkpoints`: `plan` (the batch number and the plan written ahead) and `shard#<id>` items. */
export class DynamoCheckpoints implements CheckpointStore {
  readonly #client: DynamoDBClient;
  readonly #endpoint: string;
  readonly #table: string;

  constructor(deps: { client: DynamoDBClient; endpoint: string; table: string }) {
    this.#client = deps.client;
    this.#endpoint = deps.endpoint;
    this.#table = deps.table;
  }

  async load(): Promise<CaptureState> {
    const plan = (await withRetry(this.#endpoint, () => this.#client.send(new GetItemCommand({ TableName: this.#table, Key: { id: str(PLAN_ID) }, ConsistentRead: true })))).Item;
    const shards = new Map<string, ShardCheckpoint>();
    let start: Item | undefined;
    do {
      const page = await withRetry(this.#endpoint, () =>
        this.#client.send(new ScanCommand({ TableName: this.#table, ConsistentRead: true, ...(start === undefined ? {} : { ExclusiveStartKey: start }) })),
      );
      for (const item of page.Items ?? []) {
        const id = getS(item, 'id') ?? '';
        if (id.startsWith(SHARD_PREFIX)) shards.set(id.slice(SHARD_PREFIX.length), { seq: getS(item, 'seq'), done: item.done?.BOOL === true });
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    const n = getN(plan, 'n') ?? 0;
    const ranges = getS(plan, 'ranges');
    return { shards, n, pending: plan?.pending?.BOOL === true && ranges !== undefined ? { n, ranges: JSON.parse(ranges) as ShardRange[] } : undefined };
  }

  async writeAhead(plan: RelayPlan): Promise<void> {
    await transactWrite(this.#client, this.#endpoint, [
      { Put: { TableName: this.#table, Item: { id: str(PLAN_ID), n: num(plan.n), pending: { BOOL: true }, ranges: str(JSON.stringify(plan.ranges)) } } },
    ]);
  }

  async commit(n: number, checkpoints: ReadonlyMap<string, ShardCheckpoint>): Promise<void> {
    const shardItems: TransactWriteItem[] = [...checkpoints].map(([shardId, cp]) => ({
      Put: { TableName: this.#table, Item: { id: str(`${SHARD_PREFIX}${shardId}`), done: { BOOL: cp.done }, ...(cp.seq === undefined ? {} : { seq: str(cp.seq) }) } },
    }));
    // The plan item goes with the last group, so a half-done commit leaves the plan pending and is redone.
    const groups: TransactWriteItem[][] = [];
    for (let i = 0; i < shardItems.length; i += 99) groups.push(shardItems.slice(i, i + 99));
    if (groups.length === 0) groups.push([]);
    groups[groups.length - 1]?.push({ Put: { TableName: this.#table, Item: { id: str(PLAN_ID), n: num(n), pending: { BOOL: false } } } });
    for (const group of groups) await transactWrite(this.#client, this.#endpoint, group);
  }
}
