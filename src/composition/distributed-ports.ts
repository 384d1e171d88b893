import { KafkaChangeFeed } from '../adapters/kafka/kafka-change-feed.ts';
import { KafkaChangePublisher } from '../adapters/kafka/kafka-change-publisher.ts';
import { KafkaEventLog } from '../adapters/kafka/kafka-event-log.ts';
import { KafkaProgressProbe } from '../adapters/kafka/kafka-progress-probe.ts';
import { RedisCountCache } from '../adapters/redis/redis-count-cache.ts';
import { RedisCountNotifier } from '../adapters/redis/redis-count-notifier.ts';
import type { Options } from '../config/options.ts';
import type { Logger } from '../observability/logger.ts';
import type { Lifecycle } from '../ports/lifecycle.ts';
import { CdcStep } from '../stages/cdc/cdc-stage.ts';
import { LoopStage } from '../stages/loop-stage.ts';
import { PipelineProbes } from '../stages/progress/pipeline-probes.ts';
import { PollingProgress } from '../stages/progress/polling-progress.ts';
import type { PortSet, StageContext } from './port-set.ts';
import { createStoreProfile } from './create-store.ts';
import { redactUrl } from './stores/redact.ts';

/**
 * Distributed mode: Kafka is the like-events log and carries the change feed, the store profile
 * (`--store`) holds the likes and the counters and captures the changes (relayed into Kafka by
 * the `cdc` stage), Redis is the shared count cache. Each stage may run in its own process.
 */
export async function createDistributedPorts(options: Options, log: Logger, appends = true): Promise<PortSet> {
  const kafka = { brokers: options.kafkaBrokers, namespace: options.namespace, log };
  const groupTimings = {
    sessionTimeoutMs: options.kafkaSessionTimeoutMs,
    heartbeatIntervalMs: Math.max(100, Math.floor(options.kafkaSessionTimeoutMs / 10)),
    rebalanceTimeoutMs: options.kafkaSessionTimeoutMs * 2,
  };
  const store = await createStoreProfile(options, log);
  // A store that numbers events by their log offsets needs one event per like-events record.
  const recordEvents = store.likes.offsetsFromFence === true ? 1 : options.kafkaRecordEvents;
  if (recordEvents !== options.kafkaRecordEvents) {
    log.info({ store: options.store }, 'like-events: one event per Kafka record, as this store numbers events by their log offsets (--kafka-record-events applies to like-changes only)');
  }
  const eventLog = new KafkaEventLog({ ...kafka, instanceId: options.kafkaInstanceId, partitions: options.partitions, hotShards: options.hotShards, recordEvents, appends, maxPendingEvents: options.maxPendingEvents, groupTimings });
  const feed = new KafkaChangeFeed({ ...kafka, instanceId: options.kafkaInstanceId, partitions: options.partitions, groupTimings });
  const cache = new RedisCountCache({ url: options.redisUrl, namespace: options.namespace, log });
  const notifier = new RedisCountNotifier({ url: options.redisUrl, namespace: options.namespace, log });
  const kafkaProbe = new KafkaProgressProbe(kafka);
  // The feed's lag is estimated from this process's relay when it runs one, else from its log appends.
  let relay: KafkaChangePublisher | undefined;
  const progress = new PollingProgress(
    new PipelineProbes(kafkaProbe, store.source, store.counters),
    { pollMs: 10, lagRefreshMs: 1000, perPosition: () => ({ log: eventLog.eventsPerRecord, feed: relay?.changesPerRecord ?? eventLog.eventsPerRecord }) },
    log,
  );
  const adapters: Lifecycle[] = [eventLog, store, feed, cache, notifier, kafkaProbe];

  const cdc = ({ metrics }: StageContext): LoopStage => {
    const capture = store.capture();
    const publisher = new KafkaChangePublisher({ ...kafka, partitions: options.partitions, recordChanges: options.kafkaRecordEvents });
    relay = publisher;
    const step = new CdcStep({ capture, publisher, metrics, log }, { maxChanges: options.counterBatch, idleMs: options.idleMs });
    // The relay owns its capture and publisher: CdcStep opens and closes them with the stage.
    return new LoopStage('cdc', step, log, metrics);
  };

  return {
    mode: 'distributed',
    events: eventLog,
    likes: store.likes,
    feed,
    counters: store.counters,
    cache,
    notifier,
    progress,
    tracker: undefined,
    extraStages: new Map([['cdc', cdc]]),
    async init() {
      for (const adapter of adapters) await adapter.init();
      progress.start();
    },
    async close() {
      progress.stop();
      for (const adapter of [...adapters].reverse()) await adapter.close();
    },
    describe: () => `Kafka ${options.kafkaBrokers}, ${store.describe()}, Redis ${redactUrl(options.redisUrl)}, namespace ${options.namespace}`,
  };
}
