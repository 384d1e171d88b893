import { createDynamoClient, createStreamsClient, describeEndpoint, isLocalEndpoint, type DynamoSettings } from '../../adapters/dynamodb/dynamo-client.ts';
import { DynamoCheckpoints } from '../../adapters/dynamodb/dynamo-checkpoints.ts';
import { DynamoCounterStore } from '../../adapters/dynamodb/dynamo-counter-store.ts';
import { DynamoLikesStore } from '../../adapters/dynamodb/dynamo-likes-store.ts';
import { DynamoRelayProgress } from '../../adapters/dynamodb/dynamo-relay-progress.ts';
import { DynamoStreamCapture } from '../../adapters/dynamodb/dynamo-stream-capture.ts';
import { sdkStreamsApi } from '../../adapters/dynamodb/dynamo-streams-api.ts';
import { allTables, dropDynamoTables, dynamoTableNames, ensureDynamoTables, likesStreamArn } from '../../adapters/dynamodb/dynamo-tables.ts';
import type { Options } from '../../config/options.ts';
import type { Logger } from '../../observability/logger.ts';
import type { ChangeCapture } from '../../ports/change-capture.ts';
import type { LikesStore } from '../../ports/likes-store.ts';
import type { StoreProfile } from './store-profile.ts';

const settingsOf = (options: Options): DynamoSettings => ({ endpoint: options.dynamodbEndpoint, namespace: options.namespace });

/**
 * `--store dynamodb`, the seed's own store: the likes table (`pk` = `<shard>#<postId>`, `sk` =
 * userId), its DynamoDB Stream as the change capture, and a counts table, per namespace.
 */
export function createDynamoStore(options: Options, log: Logger): StoreProfile {
  const settings = settingsOf(options);
  const likes = new DynamoLikesStore({ ...settings, shards: options.likesShards });
  const counters = new DynamoCounterStore(settings);
  const client = createDynamoClient(settings);
  const relay = new DynamoRelayProgress({ client, endpoint: settings.endpoint, table: dynamoTableNames(settings.namespace).checkpoints });
  return {
    name: 'dynamodb',
    likes,
    counters,
    source: relay,
    capture: () => createDynamoCapture(settings, log, likes),
    async init() {
      await ensureDynamoTables(client, settings, options.dynamodbCreateTables);
      await likes.init();
      await counters.init();
    },
    async close() {
      await counters.close();
      await likes.close();
      client.destroy();
    },
    describe: () => `DynamoDB ${describeEndpoint(settings.endpoint)} (tables ${settings.namespace}-*)`,
  };
}

/** The stream capture of one `cdc` stage; a loss of stream records schedules a recount of every post. */
export function createDynamoCapture(settings: DynamoSettings, log: Logger, likes: LikesStore): ChangeCapture {
  const client = createDynamoClient(settings);
  const streams = createStreamsClient(settings);
  const names = dynamoTableNames(settings.namespace);
  const relay = new DynamoRelayProgress({ client, endpoint: settings.endpoint, table: names.checkpoints });
  const local = isLocalEndpoint(settings.endpoint);
  let recounting = false;
  const capture = new DynamoStreamCapture(
    {
      streams: sdkStreamsApi(streams, settings.endpoint),
      checkpoints: new DynamoCheckpoints({ client, endpoint: settings.endpoint, table: names.checkpoints }),
      streamArn: () => likesStreamArn(client, settings),
      confirm: (at) => relay.confirm(at),
      onLoss: () => {
        if (recounting) return;
        recounting = true;
        // In the background: the recount waits for this very relay to move on.
        void recountEverything(likes, log).finally(() => (recounting = false));
      },
      log,
    },
    { roundMs: local ? 20 : 250, confirmEveryMs: local ? 50 : 250, shardListMs: local ? 1000 : 10_000, reuseIterators: !local },
  );
  return {
    init: () => capture.init(),
    poll: (maxChanges, idleMs) => capture.poll(maxChanges, idleMs),
    async close() {
      await capture.close();
      streams.destroy();
      client.destroy();
    },
  };
}

async function recountEverything(likes: LikesStore, log: Logger): Promise<void> {
  let after = '';
  let posts = 0;
  try {
    for (;;) {
      const page = await likes.postsAfter(after, 100);
      if (page.length === 0) break;
      await likes.recount(page);
      posts += page.length;
      after = page.at(-1) ?? after;
    }
    log.warn({ posts }, 'dynamodb capture: recounted every post after lost stream records');
  } catch (error) {
    log.error({ err: error, posts }, 'dynamodb capture: the recount after lost stream records failed; run ./tally reconcile --distributed --store dynamodb');
  }
}

/** Creates the namespace's tables when absent (`./tally dynamodb init`). */
export async function initDynamoTables(options: Options): Promise<string[]> {
  const settings = settingsOf(options);
  const client = createDynamoClient(settings);
  try {
    await ensureDynamoTables(client, settings, true);
    return allTables(dynamoTableNames(settings.namespace));
  } finally {
    client.destroy();
  }
}

/** Deletes the namespace's tables. */
export async function dropDynamoStore(options: Options): Promise<void> {
  const settings = settingsOf(options);
  const client = createDynamoClient(settings);
  try {
    await dropDynamoTables(client, settings);
  } finally {
    client.destroy();
  }
}
