import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'node:test';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { LoopStage } from '../../src/stages/loop-stage.ts';

test('a step that never waits on I/O still lets timers run between batches', async () => {
  const BACKLOG = 20_000;
  let batches = 0;
  // A step over a synchronous store: while the backlog lasts every batch does work and resolves
  // at once; then it waits like an idle poll.
  const stage = new LoopStage(
    'busy',
    {
      open: async () => undefined,
      step: async () => {
        if (batches >= BACKLOG) {
          await sleep(5);
          return false;
        }
        batches++;
        return true;
      },
      close: async () => undefined,
    },
    createLogger('silent'),
    new Metrics({ defaultMetrics: false }),
  );
  const timer = sleep(1).then(() => batches);
  await stage.start();
  const batchesWhenTimerFired = await timer;
  while (batches < BACKLOG) await sleep(1);
  await stage.stop();
  // Without a turn of the event loop between batches, the timer waited for the whole backlog.
  assert.ok(batchesWhenTimerFired < BACKLOG, `the 1 ms timer fired after ${batchesWhenTimerFired} of ${BACKLOG} batches`);
  assert.equal(batches, BACKLOG, 'the stage then worked through the backlog');
  assert.equal(stage.running, false);
});
