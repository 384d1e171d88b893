import { KafkaChangeFeed } from '../adapters/kafka/kafka-change-feed.ts';
import { KafkaChangePublisher } from '../adapters/kafka/kafka-change-publisher.ts';
import { KafkaEventLog } from '../adapters/kafka/kafka-event-log.ts';
import { KafkaProgressProbe } from '../adapters/kafka/kafka-progress-probe.ts';
import { PgChangeCapture } from '../adapters/postgres/pg-change-capture.ts';
import { PgCounterStore } from '../adapters/postgres/pg-counter-store.ts';
import { PgLikesStore } from '../adapters/postgres/pg-likes-store.ts';
import { PgProgressProbe } from '../adapters/postgres/pg-progress-probe.ts';
import { migratePostgres } from '../adapters/postgres/pg-schema.ts';
import { RedisCountCache } from '../adapters/redis/redis-count-cache.ts';
import type { Options } from '../config/options.ts';
import type { Logger } from '../observability/logger.ts';
import type { Lifecycle } from '../ports/lifecycle.ts';
import { CdcStep } from '../stages/cdc/cdc-stage.ts';
import { LoopStage } from '../stages/loop-stage.ts';
import { PollingProgress } from '../stages/progress/polling-progress.ts';
import type { PortSet, StageContext } from './port-set.ts';

/**
 * Distributed mode: Kafka is the like-events log and carries the change feed, PostgreSQL holds the
 * likes and the counters (its logical replication is the change capture, relayed into Kafka by the
 * `cdc` stage), Redis is the shared count cache. Each stage may run in its own process.
 */
export async function createDistributedPorts(options: Options, log: Logger): Promise<PortSet> {
  const kafka = { brokers: options.kafkaBrokers, namespace: options.namespace, log };
  const pg = { url: options.postgresUrl, namespace: options.namespace };
  const groupTimings = {
    sessionTimeoutMs: options.kafkaSessionTimeoutMs,
    heartbeatIntervalMs: Math.max(100, Math.floor(options.kafkaSessionTimeoutMs / 10)),
    rebalanceTimeoutMs: options.kafkaSessionTimeoutMs * 2,
  };
  const eventLog = new KafkaEventLog({ ...kafka, partitions: options.partitions, maxPendingEvents: options.maxPendingEvents, groupTimings });
  const likes = new PgLikesStore({ ...pg, shards: options.likesShards });
  const feed = new KafkaChangeFeed({ ...kafka, partitions: options.partitions, groupTimings });
  const counters = new PgCounterStore(pg);
  const cache = new RedisCountCache({ url: options.redisUrl, namespace: options.namespace, log });
  const kafkaProbe = new KafkaProgressProbe(kafka);
  const pgProbe = new PgProgressProbe(pg);
  const progress = new PollingProgress(
    {
      ingestCommitted: () => kafkaProbe.committed('ingest'),
      logEnds: () => kafkaProbe.logEnds(),
      sourceMark: () => pgProbe.walMark(),
      relayConfirmed: () => pgProbe.slotConfirmed(),
      feedEnds: () => kafkaProbe.feedEnds(),
      counterApplied: () => counters.positions(),
    },
    { pollMs: 10, lagRefreshMs: 1000 },
  );
  const adapters: Lifecycle[] = [eventLog, likes, feed, counters, cache, kafkaProbe, pgProbe];

  const cdc = ({ metrics }: StageContext): LoopStage => {
    const capture = new PgChangeCapture(pg);
    const publisher = new KafkaChangePublisher({ ...kafka, partitions: options.partitions });
    const step = new CdcStep({ capture, publisher, metrics, log }, { maxChanges: options.counterBatch, idleMs: options.idleMs });
    // The relay owns its capture and publisher: they open and close with the stage.
    return new LoopStage(
      'cdc',
      {
        open: async () => {
          await capture.init();
          await publisher.init();
          await step.open();
        },
        step: () => step.step(),
        close: async () => {
          await step.close();
          await capture.close();
          await publisher.close();
        },
      },
      log,
      metrics,
    );
  };

  return {
    mode: 'distributed',
    log: eventLog,
    likes,
    feed,
    counters,
    cache,
    progress,
    tracker: undefined,
    extraStages: new Map([['cdc', cdc]]),
    async init() {
      await migratePostgres({ ...pg });
      for (const adapter of adapters) await adapter.init();
      progress.start();
    },
    async close() {
      progress.stop();
      for (const adapter of [...adapters].reverse()) await adapter.close();
    },
    describe: () => `Kafka ${options.kafkaBrokers}, PostgreSQL ${redact(options.postgresUrl)}, Redis ${redact(options.redisUrl)}, namespace ${options.namespace}`,
  };
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
