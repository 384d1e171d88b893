import type { CaptureState, CheckpointStore, RelayPlan } from '../../../src/adapters/dynamodb/dynamo-checkpoints.ts';
import type { IteratorStart, StreamsApi } from '../../../src/adapters/dynamodb/dynamo-streams-api.ts';
import type { ShardCheckpoint, ShardInfo } from '../../../src/adapters/dynamodb/stream-lineage.ts';
import type { LikesStreamRecord } from '../../../src/adapters/dynamodb/stream-records.ts';

const awsError = (name: string): Error => Object.assign(new Error(name), { name });

interface FakeShard {
  readonly info: ShardInfo;
  readonly records: LikesStreamRecord[];
  closed: boolean;
  /** Records before this index were trimmed. */
  trimmedBefore: number;
}

/** DynamoDB Streams in memory: shards with lineage, iterators as "shard|index", trimming and expiry on demand. */
export class FakeStreams implements StreamsApi {
  readonly #shards = new Map<string, FakeShard>();
  #seq = 1000;
  /** Set to make the next GetRecords throw ExpiredIteratorException. */
  expireNext = false;
  getRecordsCalls = 0;

  addShard(shardId: string, parentShardId?: string): void {
    this.#shards.set(shardId, { info: { shardId, parentShardId }, records: [], closed: false, trimmedBefore: 0 });
  }

  /** Appends a like (+1) or unlike (-1) record, or a recount marker, to a shard; returns its sequence number. */
  write(shardId: string, change: { postId: string; userId: string; delta: 1 | -1 } | { postId: string; count: number }): string {
    const shard = this.#shard(shardId);
    const sequenceNumber = String(++this.#seq);
    if ('count' in change) {
      shard.records.push({ eventName: 'MODIFY', sequenceNumber, pk: `#recount#${change.postId}`, sk: '#', hadOld: true, hasNew: true, count: change.count });
    } else {
      const insert = change.delta === 1;
      shard.records.push({ eventName: insert ? 'INSERT' : 'REMOVE', sequenceNumber, pk: `3#${change.postId}`, sk: change.userId, hadOld: !insert, hasNew: insert, count: undefined });
    }
    return sequenceNumber;
  }

  close(shardId: string): void {
    this.#shard(shardId).closed = true;
  }

  trim(shardId: string, before: number): void {
    this.#shard(shardId).trimmedBefore = before;
  }

  remove(shardId: string): void {
    this.#shards.delete(shardId);
  }

  #shard(shardId: string): FakeShard {
    const shard = this.#shards.get(shardId);
    if (shard === undefined) throw awsError('ResourceNotFoundException');
    return shard;
  }

  async listShards(): Promise<ShardInfo[]> {
    return [...this.#shards.values()].map((s) => s.info);
  }

  async shardIterator(_arn: string, shardId: string, start: IteratorStart): Promise<string> {
    const shard = this.#shard(shardId);
    if (start.type === 'TRIM_HORIZON') return `${shardId}|${shard.trimmedBefore}`;
    const index = shard.records.findIndex((r) => r.sequenceNumber === start.sequenceNumber);
    if (index < shard.trimmedBefore) throw awsError('TrimmedDataAccessException');
    return `${shardId}|${index + 1}`;
  }

  async records(iterator: string, limit: number): Promise<{ records: LikesStreamRecord[]; nextIterator: string | undefined }> {
    this.getRecordsCalls++;
    if (this.expireNext) {
      this.expireNext = false;
      throw awsError('ExpiredIteratorException');
    }
    const [shardId = '', at = '0'] = iterator.split('|');
    const shard = this.#shard(shardId);
    const from = Math.max(Number(at), shard.trimmedBefore);
    const records = shard.records.slice(from, from + limit);
    const next = from + records.length;
    return { records, nextIterator: shard.closed && next >= shard.records.length ? undefined : `${shardId}|${next}` };
  }
}

/** A checkpoint table in memory, surviving "restarts" of the capture. */
export class FakeCheckpoints implements CheckpointStore {
  shards = new Map<string, ShardCheckpoint>();
  n = 0;
  pending: RelayPlan | undefined;

  async load(): Promise<CaptureState> {
    return { shards: new Map(this.shards), n: this.n, pending: this.pending };
  }

  async writeAhead(plan: RelayPlan): Promise<void> {
    this.pending = structuredClone(plan);
    this.n = plan.n;
  }

  async commit(n: number, checkpoints: ReadonlyMap<string, ShardCheckpoint>): Promise<void> {
    for (const [id, cp] of checkpoints) this.shards.set(id, cp);
    this.n = n;
    this.pending = undefined;
  }
}
