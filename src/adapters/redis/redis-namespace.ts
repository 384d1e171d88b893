import { closeRedis, openRedis } from './redis-client.ts';

/** Deletes every key of a namespace (`<ns>:*`). */
export async function deleteRedisNamespace(url: string, namespace: string): Promise<void> {
  const redis = await openRedis({ url, role: 'namespace drop', autoPipelining: false });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    await closeRedis(redis);
  }
}
