import { RedisTokenBuckets } from '../../../src/adapters/redis/redis-token-buckets.ts';
import { deleteRedisNamespace } from '../../../src/adapters/redis/redis-namespace.ts';
import { tokenBucketsConformance } from '../../conformance/token-buckets.conformance.ts';
import { SERVERS } from '../../helpers/distributed-namespace.ts';
import { uniqueName } from '../../helpers/wait.ts';

tokenBucketsConformance('redis', async () => {
  const namespace = uniqueName('t');
  const buckets = new RedisTokenBuckets({ url: SERVERS.redisUrl, namespace });
  await buckets.init();
  return {
    buckets,
    cleanup: async () => {
      await buckets.close();
      await deleteRedisNamespace(SERVERS.redisUrl, namespace);
    },
  };
});
