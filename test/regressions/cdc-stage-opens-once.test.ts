import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KafkaChangePublisher } from '../../src/adapters/kafka/kafka-change-publisher.ts';
import { PgChangeCapture } from '../../src/adapters/postgres/pg-change-capture.ts';
import { createDistributedPorts } from '../../src/composition/distributed-ports.ts';
import { loadOptions } from '../../src/config/options.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { distributedNamespace, dropDistributedNamespace, SERVERS } from '../helpers/distributed-namespace.ts';

// Regression: the distributed `cdc` stage opened its capture and publisher, then CdcStep.open
// opened them again, so each (re)open started a second Kafka producer that was never closed.
test('the distributed cdc stage opens its change publisher and capture once per open, and closes them', { timeout: 60_000 }, async (t) => {
  const namespace = distributedNamespace();
  // Spies that call through (node:test restores them after the test).
  const publisherInit = t.mock.method(KafkaChangePublisher.prototype, 'init');
  const publisherClose = t.mock.method(KafkaChangePublisher.prototype, 'close');
  const captureInit = t.mock.method(PgChangeCapture.prototype, 'init');
  t.after(() => dropDistributedNamespace(namespace));
  const options = { ...loadOptions(new Map(), {}), namespace, kafkaBrokers: SERVERS.brokers, postgresUrl: SERVERS.postgresUrl, redisUrl: SERVERS.redisUrl, logLevel: 'warn' as const };
  const log = createLogger('warn');
  const ports = await createDistributedPorts(options, log);
  await ports.init();
  try {
    const cdc = ports.extraStages.get('cdc');
    assert.ok(cdc !== undefined);
    const stage = cdc({ metrics: new Metrics({ defaultMetrics: false }), log });
    await stage.start();
    await stage.stop();
    assert.deepEqual(
      { publisherInits: publisherInit.mock.callCount(), publisherCloses: publisherClose.mock.callCount(), captureInits: captureInit.mock.callCount() },
      { publisherInits: 1, publisherCloses: 1, captureInits: 1 },
    );
  } finally {
    await ports.close();
  }
});
