import { PgChangeCapture } from '../../../src/adapters/postgres/pg-change-capture.ts';
import { PgCounterStore } from '../../../src/adapters/postgres/pg-counter-store.ts';
import { PgLikesStore } from '../../../src/adapters/postgres/pg-likes-store.ts';
import { PgProgressProbe } from '../../../src/adapters/postgres/pg-progress-probe.ts';
import { changeCaptureConformance } from '../../conformance/change-capture.conformance.ts';
import { counterStoreConformance } from '../../conformance/counter-store.conformance.ts';
import { ingestFenceConformance } from '../../conformance/ingest-fence.conformance.ts';
import { likesStoreConformance, type LikesStoreFixture } from '../../conformance/likes-store.conformance.ts';
import { likesStoreErasureConformance } from '../../conformance/likes-store-erasure.conformance.ts';
import { sourceProgressConformance } from '../../conformance/progress-probes.conformance.ts';
import { relayedThroughKafka } from '../../helpers/cdc-relay.ts';
import { freshNamespace, PG_URL } from './pg-fixture.ts';

// The distributed change feed end to end: PostgreSQL rows → logical replication → cdc relay →
// Kafka changes topic → the feed's reader.
const makeLikesStore = async (): Promise<LikesStoreFixture> => {
  const ns = await freshNamespace();
  const namespace = ns.namespace; // the PostgreSQL schema and the Kafka topics
  const likes = ns.track(new PgLikesStore({ url: PG_URL, namespace, shards: 8 }));
  await likes.init();
  return relayedThroughKafka({ namespace, likes, capture: new PgChangeCapture({ url: PG_URL, namespace }), partitions: 4, cleanup: () => ns.cleanup() });
};

likesStoreConformance('postgres + cdc relay + kafka', makeLikesStore);
likesStoreErasureConformance('postgres + cdc relay + kafka', makeLikesStore);

changeCaptureConformance('postgres logical replication', async () => {
  const ns = await freshNamespace();
  const likes = ns.track(new PgLikesStore({ url: PG_URL, namespace: ns.namespace, shards: 8 }));
  await likes.init();
  return { likes, capture: () => ns.track(new PgChangeCapture({ url: PG_URL, namespace: ns.namespace })), cleanup: () => ns.cleanup() };
});

sourceProgressConformance('postgres WAL and replication slot', async () => {
  const ns = await freshNamespace();
  const likes = ns.track(new PgLikesStore({ url: PG_URL, namespace: ns.namespace, shards: 8 }));
  const source = ns.track(new PgProgressProbe({ url: PG_URL, namespace: ns.namespace }));
  await likes.init();
  await source.init();
  return { likes, source, capture: () => ns.track(new PgChangeCapture({ url: PG_URL, namespace: ns.namespace })), cleanup: () => ns.cleanup() };
});

ingestFenceConformance('postgres', async () => {
  const ns = await freshNamespace();
  const likes = ns.track(new PgLikesStore({ url: PG_URL, namespace: ns.namespace, shards: 4 }));
  await likes.init();
  return { likes, cleanup: () => ns.cleanup() };
});

counterStoreConformance('postgres', async () => {
  const ns = await freshNamespace();
  const counters = ns.track(new PgCounterStore({ url: PG_URL, namespace: ns.namespace }));
  await counters.init();
  return { counters, cleanup: () => ns.cleanup() };
});
