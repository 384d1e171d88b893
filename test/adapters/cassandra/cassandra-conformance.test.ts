import { CassandraChangeCapture } from '../../../src/adapters/cassandra/cassandra-change-capture.ts';
import { CassandraCounterStore } from '../../../src/adapters/cassandra/cassandra-counter-store.ts';
import { CassandraLikesStore } from '../../../src/adapters/cassandra/cassandra-likes-store.ts';
import { CassandraProgressProbe } from '../../../src/adapters/cassandra/cassandra-progress-probe.ts';
import { changeCaptureConformance } from '../../conformance/change-capture.conformance.ts';
import { counterStoreConformance } from '../../conformance/counter-store.conformance.ts';
import { likesStoreConformance } from '../../conformance/likes-store.conformance.ts';
import { sourceProgressConformance } from '../../conformance/progress-probes.conformance.ts';
import { relayedThroughKafka } from '../../helpers/cdc-relay.ts';
import { freshKeyspace } from './cassandra-fixture.ts';

const PARTITIONS = 4;

// The distributed change feed end to end: Cassandra likes → change-log table → cdc relay → Kafka
// changes topic → the feed's reader.
likesStoreConformance('cassandra + change-log relay + kafka', async () => {
  const ks = await freshKeyspace();
  const likes = ks.track(new CassandraLikesStore({ ...ks.connection, shards: 8, partitions: PARTITIONS }));
  await likes.init();
  return relayedThroughKafka({ namespace: ks.namespace, likes, capture: new CassandraChangeCapture(ks.connection), partitions: PARTITIONS, cleanup: () => ks.cleanup() });
});

changeCaptureConformance('cassandra change log', async () => {
  const ks = await freshKeyspace();
  const likes = ks.track(new CassandraLikesStore({ ...ks.connection, shards: 8, partitions: PARTITIONS }));
  await likes.init();
  return { likes, capture: () => ks.track(new CassandraChangeCapture(ks.connection)), cleanup: () => ks.cleanup() };
});

sourceProgressConformance('cassandra change log', async () => {
  const ks = await freshKeyspace();
  const likes = ks.track(new CassandraLikesStore({ ...ks.connection, shards: 8, partitions: PARTITIONS }));
  const source = ks.track(new CassandraProgressProbe(ks.connection));
  await likes.init();
  await source.init();
  return { likes, source, capture: () => ks.track(new CassandraChangeCapture(ks.connection)), cleanup: () => ks.cleanup() };
});

counterStoreConformance('cassandra', async () => {
  const ks = await freshKeyspace();
  const counters = ks.track(new CassandraCounterStore(ks.connection));
  await counters.init();
  return { counters, cleanup: () => ks.cleanup() };
});
