import { setTimeout as sleep } from 'node:timers/promises';
import type { Change } from '../../domain/change.ts';
import type { Logger } from '../../observability/logger.ts';
import type { CapturedBatch, ChangeCapture } from '../../ports/change-capture.ts';
import { awsErrorName } from './dynamo-client.ts';
import type { CheckpointStore, ShardRange } from './dynamo-checkpoints.ts';
import type { IteratorStart, StreamsApi } from './dynamo-streams-api.ts';
import { planShards, type ShardCheckpoint, type ShardInfo } from './stream-lineage.ts';
import { recordToChange, type LikesStreamRecord } from './stream-records.ts';

export interface StreamCaptureOptions {
  /** Pause between rounds over the shards when nothing arrived (AWS allows 5 GetRecords a second per shard). */
  readonly roundMs: number;
  /** Least time between two writes of the relay's confirmed time when idle. */
  readonly confirmEveryMs: number;
  /** How long the shard list is reused before DescribeStream is called again. */
  readonly shardListMs: number;
  /**
   * Keep each shard's NextShardIterator for the next read (AWS). The emulator must not: a
   * cancelled TransactWriteItems restores a deep copy of the table, and iterators opened before
   * then keep reading the discarded copy (no new records, or records of the rolled-back writes).
   * Without reuse, every read opens an iterator at the checkpoint.
   */
  readonly reuseIterators: boolean;
}

export interface StreamCaptureDeps {
  readonly streams: StreamsApi;
  readonly checkpoints: CheckpointStore;
  /** The likes table's stream ARN (read at `init`: a re-created table has a new stream). */
  readonly streamArn: () => Promise<string>;
  /** Records the relay's confirmed time (see `DynamoRelayProgress`). */
  readonly confirm: (at: number) => Promise<void>;
  /** Called when stream records were lost (trimmed after 24 hours unread): schedule a recount. */
  readonly onLoss: (why: string) => void;
  readonly log: Logger;
}

/** Most shards in one batch: their checkpoints and the plan commit in one transaction (100 actions). */
const MAX_SHARDS_PER_BATCH = 90;
/** Most records asked of one shard in one GetRecords (AWS's limit is 1,000). */
const MAX_RECORDS_PER_CALL = 1000;

/**
 * The DynamoDB profile's change capture: reads the likes table's stream and hands the `cdc` relay
 * each like that appeared or disappeared and each recount marker written.
 *
 * - Lineage: a shard is read only once its parent is done (`planShards`); a closed shard read to
 *   its end is marked done.
 * - Durable checkpoints per shard, resumed with AFTER_SEQUENCE_NUMBER. A batch's exact record
 *   ranges are written ahead (`writeAhead`) under a batch number before the relay publishes; the
 *   checkpoints move only on `ack`, after Kafka acknowledged. After a kill -9 the pending plan is
 *   read again record for record and given the same sources (batch number and index, 24 sortable
 *   hex digits), so the relay skips what Kafka already has: nothing lost, nothing counted twice.
 * - Expired iterators (15 minutes) are re-created from the checkpoint; a checkpoint trimmed away
 *   (24-hour retention) is logged loudly, reported to `onLoss` (a recount) and read on from
 *   TRIM_HORIZON.
 * - After a round that read every shard to its end, `ack` confirms the round's start time: every
 *   write before it is in the feed (`DynamoRelayProgress`).
 */
export class DynamoStreamCapture implements ChangeCapture {
  readonly #deps: StreamCaptureDeps;
  readonly #options: StreamCaptureOptions;
  #arn = '';
  #checkpoints = new Map<string, ShardCheckpoint>();
  #n = 0;
  #pending: { n: number; ranges: readonly ShardRange[] } | undefined;
  /** Iterators positioned after the committed checkpoint (or after a batch awaiting its ack). */
  #iterators = new Map<string, string>();
  #shards: { at: number; list: ShardInfo[] } | undefined;
  #lastConfirm = 0;
  #open = false;

  constructor(deps: StreamCaptureDeps, options: StreamCaptureOptions) {
    this.#deps = deps;
    this.#options = options;
  }

  async init(): Promise<void> {
    this.#arn = await this.#deps.streamArn();
    const state = await this.#deps.checkpoints.load();
    this.#checkpoints = state.shards;
    this.#n = state.n;
    this.#pending = state.pending;
    this.#iterators.clear();
    this.#shards = undefined;
    this.#open = true;
  }

  async close(): Promise<void> {
    this.#open = false;
    this.#iterators.clear();
  }

  async poll(maxChanges: number, idleMs: number): Promise<CapturedBatch> {
    if (!this.#open) throw new Error('dynamodb capture: not open');
    const pending = this.#pending;
    if (pending !== undefined) return this.#replay(pending);
    const deadline = Date.now() + idleMs;
    for (;;) {
      const roundStart = Date.now();
      const shards = await this.#shardList();
      const plan = planShards(shards, this.#checkpoints);
      const lost = new Map<string, ShardCheckpoint>();
      for (const shardId of plan.lost) {
        this.#loss(`shard ${shardId} of ${this.#arn} is gone from the stream before it was read to its end`);
        lost.set(shardId, { seq: this.#checkpoints.get(shardId)?.seq, done: true });
      }
      const ranges: ShardRange[] = [];
      const records: LikesStreamRecord[] = [];
      let caughtUp = plan.readable.length <= MAX_SHARDS_PER_BATCH;
      let budget = Math.max(1, maxChanges);
      for (const shardId of plan.readable.slice(0, MAX_SHARDS_PER_BATCH)) {
        if (budget <= 0) {
          caughtUp = false;
          break;
        }
        const limit = Math.min(budget, MAX_RECORDS_PER_CALL);
        const read = await this.#read(shardId, limit);
        if (read.records.length > 0 || read.closed) {
          ranges.push({ shardId, after: read.after, to: read.records.at(-1)?.sequenceNumber ?? read.after, closed: read.closed });
          records.push(...read.records);
        }
        if (!read.closed && read.records.length >= limit) caughtUp = false;
        budget -= read.records.length;
      }
      if (ranges.length > 0 || lost.size > 0) {
        if (ranges.some((r) => r.closed)) this.#shards = undefined; // look for the children
        const n = this.#n + 1;
        const { changes, sources } = this.#changes(n, records);
        if (changes.length > 0) await this.#deps.checkpoints.writeAhead({ n, ranges });
        this.#deps.log.debug({ batch: n, ranges, records: records.length, changes: changes.length }, 'dynamodb capture: batch');
        return { changes, sources, ack: () => this.#commit(n, ranges, lost, caughtUp ? roundStart : undefined) };
      }
      const now = Date.now();
      if (caughtUp && now - this.#lastConfirm >= this.#options.confirmEveryMs) {
        return { changes: [], sources: [], ack: () => this.#confirm(roundStart) };
      }
      if (now >= deadline) return { changes: [], sources: [], ack: async () => undefined };
      await sleep(Math.min(this.#options.roundMs, Math.max(1, deadline - now)));
    }
  }

  /** The changes of a batch and their sources: batch number and index, as 24 sortable hex digits. */
  #changes(n: number, records: readonly LikesStreamRecord[]): { changes: Change[]; sources: string[] } {
    const changes: Change[] = [];
    const sources: string[] = [];
    for (const record of records) {
      const change = recordToChange(record);
      if (change === undefined) continue;
      sources.push(`${n.toString(16).padStart(16, '0')}${changes.length.toString(16).padStart(8, '0')}`);
      changes.push(change);
    }
    return { changes, sources };
  }

  async #commit(n: number, ranges: readonly ShardRange[], lost: ReadonlyMap<string, ShardCheckpoint>, confirmAt: number | undefined): Promise<void> {
    const updates = new Map(lost);
    for (const range of ranges) updates.set(range.shardId, { seq: range.to, done: range.closed });
    await this.#deps.checkpoints.commit(n, updates);
    for (const [shardId, cp] of updates) this.#checkpoints.set(shardId, cp);
    this.#n = n;
    this.#pending = undefined;
    if (confirmAt !== undefined) await this.#confirm(confirmAt);
  }

  async #confirm(at: number): Promise<void> {
    await this.#deps.confirm(at);
    this.#lastConfirm = Date.now();
  }

  /** Reads a pending plan again, exactly its records, for the relay to skip what it already published. */
  async #replay(plan: { n: number; ranges: readonly ShardRange[] }): Promise<CapturedBatch> {
    const records: LikesStreamRecord[] = [];
    for (const range of plan.ranges) {
      this.#iterators.delete(range.shardId);
      if (range.to === undefined || range.to === range.after) continue;
      records.push(...(await this.#readRange(range)));
    }
    this.#deps.log.info({ batch: plan.n, shards: plan.ranges.length, records: records.length }, 'dynamodb capture: relaying again the batch that was in flight when the last cdc stopped');
    const { changes, sources } = this.#changes(plan.n, records);
    return { changes, sources, ack: () => this.#commit(plan.n, plan.ranges, new Map(), undefined) };
  }

  async #readRange(range: ShardRange): Promise<LikesStreamRecord[]> {
    const out: LikesStreamRecord[] = [];
    let iterator: string | undefined = await this.#iterator(range.shardId, range.after);
    while (iterator !== undefined) {
      const page = await this.#deps.streams.records(iterator, MAX_RECORDS_PER_CALL);
      for (const record of page.records) {
        out.push(record);
        if (record.sequenceNumber === range.to) return out;
      }
      if (page.records.length === 0 && page.nextIterator !== undefined && out.length === 0) await sleep(this.#options.roundMs);
      iterator = page.nextIterator;
    }
    this.#loss(`the records of shard ${range.shardId} up to ${String(range.to)} are no longer in the stream`);
    return out;
  }

  /** One GetRecords on a shard, from its cached iterator or its checkpoint. */
  async #read(shardId: string, limit: number): Promise<{ records: LikesStreamRecord[]; closed: boolean; after: string | undefined }> {
    const after = this.#checkpoints.get(shardId)?.seq;
    let iterator = this.#iterators.get(shardId);
    let from = after;
    for (let attempt = 0; ; attempt++) {
      if (iterator === undefined) {
        const opened = await this.#openIterator(shardId, after);
        iterator = opened.iterator;
        from = opened.from;
      }
      try {
        const page = await this.#deps.streams.records(iterator, limit);
        if (page.nextIterator === undefined || !this.#options.reuseIterators) this.#iterators.delete(shardId);
        else this.#iterators.set(shardId, page.nextIterator);
        return { records: page.records, closed: page.nextIterator === undefined, after: from };
      } catch (error) {
        const name = awsErrorName(error);
        if (attempt > 0 || (name !== 'ExpiredIteratorException' && name !== 'TrimmedDataAccessException')) throw error;
        // An iterator lives 15 minutes: open a new one at the checkpoint.
        this.#iterators.delete(shardId);
        iterator = undefined;
      }
    }
  }

  /** An iterator after the checkpoint; when the checkpoint was trimmed away, a loud loss and TRIM_HORIZON. */
  async #openIterator(shardId: string, after: string | undefined): Promise<{ iterator: string; from: string | undefined }> {
    try {
      return { iterator: await this.#iterator(shardId, after), from: after };
    } catch (error) {
      if (awsErrorName(error) !== 'TrimmedDataAccessException' || after === undefined) throw error;
      this.#loss(`shard ${shardId}: the records after checkpoint ${after} were trimmed (older than the stream's 24-hour retention) before the cdc read them`);
      return { iterator: await this.#iterator(shardId, undefined), from: undefined };
    }
  }

  #iterator(shardId: string, after: string | undefined): Promise<string> {
    const start: IteratorStart = after === undefined ? { type: 'TRIM_HORIZON' } : { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: after };
    return this.#deps.streams.shardIterator(this.#arn, shardId, start);
  }

  async #shardList(): Promise<ShardInfo[]> {
    const now = Date.now();
    if (this.#shards === undefined || now - this.#shards.at >= this.#options.shardListMs) {
      this.#shards = { at: now, list: await this.#deps.streams.listShards(this.#arn) };
    }
    return this.#shards.list;
  }

  #loss(why: string): void {
    this.#deps.log.error({ stream: this.#arn }, `dynamodb capture: CHANGES LOST: ${why}; counts may have drifted, a recount of every post is scheduled`);
    this.#deps.onLoss(why);
  }
}
