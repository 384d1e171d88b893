import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CreateTableCommand, DescribeTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoClient, type DynamoSettings } from '../../../src/adapters/dynamodb/dynamo-client.ts';
import { DynamoLikesStore } from '../../../src/adapters/dynamodb/dynamo-likes-store.ts';
import { dropDynamoTables, dynamoTableNames, ensureDynamoTables, LIKES_BY_USER_INDEX } from '../../../src/adapters/dynamodb/dynamo-tables.ts';
import { uniqueName } from '../../helpers/wait.ts';
import { DYNAMODB_ENDPOINT } from './dynamo-fixture.ts';

test('a likes table from before the Likes tab gets its by-user index (UpdateTable), and its likes are listed', async (t) => {
  const namespace = uniqueName('d');
  const settings: DynamoSettings = { endpoint: DYNAMODB_ENDPOINT, namespace };
  const client = createDynamoClient(settings);
  t.after(async () => {
    await dropDynamoTables(client, settings).catch(() => undefined);
    client.destroy();
  });
  const likesTable = dynamoTableNames(namespace).likes;
  // The likes table as an older Tally created it: no global secondary index.
  await client.send(
    new CreateTableCommand({
      TableName: likesTable,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }, { AttributeName: 'likedAt', AttributeType: 'N' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
      LocalSecondaryIndexes: [{ IndexName: 'by-time', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'likedAt', KeyType: 'RANGE' }], Projection: { ProjectionType: 'KEYS_ONLY' } }],
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  // A like stored before the upgrade: the new index must cover it (DynamoDB backfills a new GSI).
  await client.send(new PutItemCommand({ TableName: likesTable, Item: { pk: { S: '3#p0' }, sk: { S: 'u1' }, likedAt: { N: '500' } } }));
  await assert.rejects(ensureDynamoTables(client, settings, false), (e: Error & { code?: string }) => e.code === 'invalid_option' && /no global secondary index by-user/.test(e.message) && /dynamodb init/.test(e.message));
  await ensureDynamoTables(client, settings, true);
  const likes = new DynamoLikesStore({ ...settings, shards: 4 });
  await likes.init();
  t.after(() => likes.close());
  await likes.apply([{ op: 'like', postId: 'p1', userId: 'u1', at: 1000 }, { op: 'like', postId: 'p2', userId: 'u1', at: 2000 }]);
  // Add the index again on a table that has likes: already there, nothing to do.
  await ensureDynamoTables(client, settings, true);
  await ensureDynamoTables(client, settings, false);
  const described = await client.send(new DescribeTableCommand({ TableName: likesTable }));
  assert.deepEqual(described.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName), [LIKES_BY_USER_INDEX]);
  assert.deepEqual((await likes.likesOf('u1', 10, undefined)).items, [
    { postId: 'p2', likedAt: 2000 },
    { postId: 'p1', likedAt: 1000 },
    { postId: 'p0', likedAt: 500 },
  ]);
});
