import { DynamoCounterStore } from '../../../src/adapters/dynamodb/dynamo-counter-store.ts';
import { createDynamoClient } from '../../../src/adapters/dynamodb/dynamo-client.ts';
import { DynamoLikesStore } from '../../../src/adapters/dynamodb/dynamo-likes-store.ts';
import { DynamoRelayProgress } from '../../../src/adapters/dynamodb/dynamo-relay-progress.ts';
import { dynamoTableNames } from '../../../src/adapters/dynamodb/dynamo-tables.ts';
import { createDynamoCapture } from '../../../src/composition/stores/dynamodb-store.ts';
import { changeCaptureConformance } from '../../conformance/change-capture.conformance.ts';
import { counterStoreConformance } from '../../conformance/counter-store.conformance.ts';
import { ingestFenceConformance } from '../../conformance/ingest-fence.conformance.ts';
import { likesStoreConformance, type LikesStoreFixture } from '../../conformance/likes-store.conformance.ts';
import { likesStoreErasureConformance } from '../../conformance/likes-store-erasure.conformance.ts';
import { sourceProgressConformance } from '../../conformance/progress-probes.conformance.ts';
import { fixtureLog, relayedThroughKafka } from '../../helpers/cdc-relay.ts';
import { freshDynamoNamespace } from './dynamo-fixture.ts';

// The distributed change feed end to end: DynamoDB items → DynamoDB Streams → cdc relay → Kafka
// changes topic → the feed's reader. Against moto_server (./tally services up dynamodb), not AWS.
const makeLikesStore = async (): Promise<LikesStoreFixture> => {
  const ns = await freshDynamoNamespace();
  const likes = ns.track(new DynamoLikesStore({ ...ns.settings, shards: 8 }));
  await likes.init();
  return relayedThroughKafka({ namespace: ns.namespace, likes, capture: createDynamoCapture(ns.settings, fixtureLog, likes), partitions: 4, cleanup: () => ns.cleanup() });
};

likesStoreConformance('dynamodb + streams cdc relay + kafka', makeLikesStore);
likesStoreErasureConformance('dynamodb + streams cdc relay + kafka', makeLikesStore);

changeCaptureConformance('dynamodb streams', async () => {
  const ns = await freshDynamoNamespace();
  const likes = ns.track(new DynamoLikesStore({ ...ns.settings, shards: 8 }));
  await likes.init();
  return { likes, capture: () => ns.track(createDynamoCapture(ns.settings, fixtureLog, likes)), cleanup: () => ns.cleanup() };
});

sourceProgressConformance('dynamodb stream relay', async () => {
  const ns = await freshDynamoNamespace();
  const likes = ns.track(new DynamoLikesStore({ ...ns.settings, shards: 8 }));
  await likes.init();
  const client = createDynamoClient(ns.settings);
  const source = new DynamoRelayProgress({ client, endpoint: ns.settings.endpoint, table: dynamoTableNames(ns.namespace).checkpoints });
  return {
    likes,
    source,
    capture: () => ns.track(createDynamoCapture(ns.settings, fixtureLog, likes)),
    cleanup: async () => {
      await ns.cleanup();
      client.destroy();
    },
  };
});

ingestFenceConformance('dynamodb', async () => {
  const ns = await freshDynamoNamespace();
  const likes = ns.track(new DynamoLikesStore({ ...ns.settings, shards: 4 }));
  await likes.init();
  return { likes, cleanup: () => ns.cleanup() };
});

counterStoreConformance('dynamodb', async () => {
  const ns = await freshDynamoNamespace();
  const counters = ns.track(new DynamoCounterStore(ns.settings));
  await counters.init();
  return { counters, cleanup: () => ns.cleanup() };
});
