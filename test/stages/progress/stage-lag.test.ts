import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import type { StreamPosition } from '../../../src/domain/change.ts';
import { LiveMetrics } from '../../../src/observability/live-metrics.ts';
import { lagOf, StageLagSampler, type StageTotals } from '../../../src/stages/progress/stage-lag.ts';

const at = (offset: number): StreamPosition[] => [{ partition: 0, offset }];

function setup() {
  const totals = { appended: 0, ingested: 0, fed: 0, counted: 0 };
  const source = {
    stageTotals: (): StageTotals[] => [
      { stage: 'ingest', upstream: at(totals.appended), done: at(totals.ingested) },
      { stage: 'counter', upstream: at(totals.fed), done: at(totals.counted) },
    ],
  };
  const registry = new Registry();
  const metrics = new LiveMetrics(registry);
  const sampler = new StageLagSampler(source, metrics, { everyMs: 60_000 });
  const lag = async (name: string, stage: string): Promise<number | undefined> => {
    const text = await registry.getSingleMetricAsString(name);
    const line = text.split('\n').find((l) => l.startsWith(`${name}{stage="${stage}"}`));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };
  return { totals, sampler, lag };
}

test('the events a stage waits for are read at the scrape, not at the last sample', async () => {
  const { totals, sampler, lag } = setup();
  sampler.sample(1_000);
  totals.appended = 500;
  totals.fed = 40;
  assert.equal(await lag('tally_stage_lag_events', 'ingest'), 500);
  assert.equal(await lag('tally_stage_lag_events', 'counter'), 40);
  totals.ingested = 500;
  totals.counted = 40;
  assert.equal(await lag('tally_stage_lag_events', 'ingest'), 0, 'caught up since the last sample: the scrape says so at once');
  assert.equal(await lag('tally_stage_lag_events', 'counter'), 0);
});

test('the age of the oldest waiting event comes from the samples', async () => {
  const { totals, sampler, lag } = setup();
  sampler.sample(1_000);
  totals.appended = 100;
  sampler.sample(2_000);
  totals.appended = 300;
  totals.ingested = 50;
  sampler.sample(5_000);
  // 50 of the first 100 are done; the oldest waiting arrived after the sample at 1 s, before the one at 2 s.
  assert.equal(await lag('tally_stage_lag_seconds', 'ingest'), 3);
  totals.ingested = 300;
  sampler.sample(6_000);
  assert.equal(await lag('tally_stage_lag_seconds', 'ingest'), 0);
});

test('lagOf weighs positions by perPosition (records that bundle events)', () => {
  const totals = { stage: 'ingest' as const, upstream: [{ partition: 0, offset: 10 }, { partition: 1, offset: 6 }], done: [{ partition: 0, offset: 7 }] };
  assert.deepEqual(lagOf(totals), { upstream: 16, lag: 9 });
  assert.deepEqual(lagOf({ ...totals, perPosition: 2.5 }), { upstream: 40, lag: 23 });
});
