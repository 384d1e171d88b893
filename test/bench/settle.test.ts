import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServerSample } from '../../bench/prometheus.ts';
import { waitApplied } from '../../bench/settle.ts';
import type { Mismatch } from '../../bench/verify.ts';

function sampler(changes: () => number | undefined, lag: () => number | undefined = () => undefined) {
  return {
    progress: async (): Promise<ServerSample> => ({
      t: 0,
      changesApplied: changes(),
      ingestLag: lag(),
      counterLag: lag(),
      eventsIngested: undefined,
      cpuSeconds: undefined,
      rssBytes: undefined,
      ingestBatches: undefined,
      ingestItems: undefined,
      counterBatches: undefined,
      counterItems: undefined,
      gcSeconds: undefined,
      gcPausesOver10ms: undefined,
    }),
  };
}

const WRONG: Mismatch[] = [{ postId: 'p1', count: 2, actual: 1 }];

/** A verify that finds the counts wrong until its `rightAt`-th call; `calls` says how often it ran. */
function verifier(rightAt = 1) {
  let calls = 0;
  return { verify: async (): Promise<Mismatch[]> => (++calls >= rightAt ? [] : WRONG), calls: () => calls };
}

test('reads the counts only once the metric says every change is applied', async () => {
  let scrapes = 0;
  const counts = verifier();
  const epoch = performance.now();
  const result = await waitApplied({
    sampler: sampler(() => (++scrapes >= 5 ? 110 : 100 + scrapes)),
    baseline: 100,
    expectedChanges: () => 10,
    verify: counts.verify,
    timeoutMs: 5000,
    epoch,
  });
  assert.equal(counts.calls(), 1);
  assert.equal(scrapes, 5);
  assert.ok(result.appliedAt !== undefined && result.appliedAt > 0);
  assert.deepEqual(result.mismatches, []);
});

test('without the metric the counts are read every second until right', async () => {
  const counts = verifier(2);
  const result = await waitApplied({
    sampler: sampler(() => undefined),
    baseline: undefined,
    expectedChanges: () => 10,
    verify: counts.verify,
    timeoutMs: 5000,
    epoch: performance.now(),
  });
  assert.equal(counts.calls(), 2);
  assert.ok((result.appliedAt ?? 0) >= 900, `applied at ${result.appliedAt}`);
});

test('counts still wrong at the timeout are returned', async () => {
  const result = await waitApplied({
    sampler: sampler(() => 1000),
    baseline: 0,
    expectedChanges: () => 10,
    verify: async () => WRONG,
    timeoutMs: 300,
    epoch: performance.now(),
  });
  assert.equal(result.appliedAt, undefined);
  assert.deepEqual(result.mismatches, WRONG);
});

test('reads the counts as soon as no stage has anything waiting, though the applied changes never reach the count', async () => {
  let scrapes = 0;
  const counts = verifier();
  const result = await waitApplied({
    // Ingest collapsed a like and an unlike of one pair: 2 of the 10 changes never happen.
    sampler: sampler(
      () => (++scrapes, 108),
      () => (scrapes >= 4 ? 0 : 50),
    ),
    baseline: 100,
    expectedChanges: () => 10,
    verify: counts.verify,
    timeoutMs: 5000,
    epoch: performance.now(),
  });
  assert.equal(counts.calls(), 1);
  assert.equal(scrapes, 4);
  assert.ok((result.appliedAt ?? Infinity) < 900, `applied at ${result.appliedAt}: not the once-a-second fallback`);
});

test('a lag of 0 that proves early is trusted again only after a pause', async () => {
  const counts = verifier(3);
  const result = await waitApplied({
    sampler: sampler(
      () => undefined,
      () => 0,
    ),
    baseline: undefined,
    expectedChanges: () => 10,
    verify: counts.verify,
    timeoutMs: 5000,
    epoch: performance.now(),
  });
  assert.equal(counts.calls(), 3);
  assert.ok((result.appliedAt ?? 0) >= 500, `applied at ${result.appliedAt}: two pauses of 250 ms between the reads`);
});
