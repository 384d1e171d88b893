import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { createDynamoClient } from '../../src/adapters/dynamodb/dynamo-client.ts';
import { DYNAMODB_ENDPOINT } from '../adapters/dynamodb/dynamo-fixture.ts';
import type { StoreInspector } from './fault-cluster.ts';

/** Every item of a table, with the AWS SDK's own Scan (not Tally's adapters). */
async function scan(table: string): Promise<Record<string, AttributeValue>[]> {
  const client = createDynamoClient({ endpoint: DYNAMODB_ENDPOINT, namespace: '' });
  try {
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true, ...(start === undefined ? {} : { ExclusiveStartKey: start }) }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  } finally {
    client.destroy();
  }
}

/** The DynamoDB profile's likes table's like items (`pk` = `<shard>#<postId>`, `sk` = userId) and counts table, read with Scans. */
export const dynamoTables: StoreInspector = {
  async pairs(ns) {
    const pairs = new Set<string>();
    for (const item of await scan(`${ns}-likes`)) {
      const pk = item.pk?.S ?? '';
      if (pk.startsWith('#')) continue; // recount markers
      pairs.add(`${pk.slice(pk.indexOf('#') + 1)}/${item.sk?.S ?? ''}`);
    }
    return pairs;
  },
  async counts(ns) {
    return new Map((await scan(`${ns}-counts`)).map((item) => [item.postId?.S ?? '', Number(item.count?.N ?? 'NaN')]));
  },
};
