import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryCountCache } from '../../src/adapters/memory/memory-count-cache.ts';
import { MemoryCountNotifier } from '../../src/adapters/memory/memory-count-notifier.ts';
import { PipelineWorkerStage } from '../../src/composition/pipeline-worker-stage.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { InProcessProgress } from '../../src/stages/progress/in-process-progress.ts';
import { testOptions } from '../helpers/embedded-app.ts';

// Issue 11, bug 4: a worker whose stop failed posted `failed` but never `stopped`, and
// PipelineWorkerStage.stop() waited forever, hanging the shutdown.
test('a pipeline thread whose stop fails still lets stop() finish, and the thread ends', { timeout: 20_000 }, async () => {
  const stage = new PipelineWorkerStage({
    options: testOptions(),
    tracker: new InProcessProgress(),
    cache: new MemoryCountCache({ maxEntries: 10 }),
    notifier: new MemoryCountNotifier(),
    metrics: new Metrics({ defaultMetrics: false }),
    log: createLogger('silent'),
    workerUrl: new URL('./fixtures-failing-stop-worker.ts', import.meta.url),
  });
  await stage.start();
  const started = Date.now();
  await stage.stop();
  assert.ok(Date.now() - started < 10_000, `stop() returned after ${Date.now() - started} ms`);
  assert.equal(stage.running, false);
});
