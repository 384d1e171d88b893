import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, type DynamoDBStreamsClient, type _Record } from '@aws-sdk/client-dynamodb-streams';
import { withRetry } from './dynamo-client.ts';
import type { LikesStreamRecord } from './stream-records.ts';
import type { ShardInfo } from './stream-lineage.ts';

/** Where a shard iterator starts. */
export type IteratorStart = { readonly type: 'TRIM_HORIZON' } | { readonly type: 'AFTER_SEQUENCE_NUMBER'; readonly sequenceNumber: string };

/** The subset of DynamoDB Streams the capture uses; unit tests pass a fake. */
export interface StreamsApi {
  /** Every shard of the stream (all pages). */
  listShards(streamArn: string): Promise<ShardInfo[]>;
  /** Throws `TrimmedDataAccessException` (error name) when the position was trimmed. */
  shardIterator(streamArn: string, shardId: string, start: IteratorStart): Promise<string>;
  /** `nextIterator` undefined: the shard is closed and read to its end. Throws `ExpiredIteratorException` for an iterator older than 15 minutes. */
  records(iterator: string, limit: number): Promise<{ records: LikesStreamRecord[]; nextIterator: string | undefined }>;
}

/** The AWS SDK behind `StreamsApi`. */
export function sdkStreamsApi(client: DynamoDBStreamsClient, endpoint: string): StreamsApi {
  return {
    async listShards(streamArn) {
      const shards: ShardInfo[] = [];
      let start: string | undefined;
      do {
        const page = await withRetry(endpoint, () => client.send(new DescribeStreamCommand({ StreamArn: streamArn, ...(start === undefined ? {} : { ExclusiveStartShardId: start }) })));
        for (const shard of page.StreamDescription?.Shards ?? []) {
          if (shard.ShardId !== undefined) shards.push({ shardId: shard.ShardId, parentShardId: shard.ParentShardId });
        }
        start = page.StreamDescription?.LastEvaluatedShardId;
      } while (start !== undefined);
      return shards;
    },
    async shardIterator(streamArn, shardId, start) {
      const result = await withRetry(endpoint, () =>
        client.send(
          new GetShardIteratorCommand({
            StreamArn: streamArn,
            ShardId: shardId,
            ShardIteratorType: start.type,
            ...(start.type === 'AFTER_SEQUENCE_NUMBER' ? { SequenceNumber: start.sequenceNumber } : {}),
          }),
        ),
      );
      if (result.ShardIterator === undefined) throw new Error(`DynamoDB Streams returned no iterator for shard ${shardId}`);
      return result.ShardIterator;
    },
    async records(iterator, limit) {
      const result = await withRetry(endpoint, () => client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit })));
      return { records: (result.Records ?? []).map(toRecord), nextIterator: result.NextShardIterator ?? undefined };
    },
  };
}

function toRecord(record: _Record): LikesStreamRecord {
  const data = record.dynamodb;
  const count = data?.NewImage?.count?.N;
  return {
    eventName: record.eventName ?? 'MODIFY',
    sequenceNumber: data?.SequenceNumber ?? '',
    pk: data?.Keys?.pk?.S ?? '',
    sk: data?.Keys?.sk?.S ?? '',
    hadOld: data?.OldImage !== undefined,
    hasNew: data?.NewImage !== undefined,
    count: count === undefined ? undefined : Number(count),
  };
}
