import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SourceProgress } from '../../../src/ports/source-progress.ts';
import type { StreamProgress } from '../../../src/ports/stream-progress.ts';
import { PipelineProbes } from '../../../src/stages/progress/pipeline-probes.ts';

const streams: StreamProgress = {
  init: async () => undefined,
  close: async () => undefined,
  logEnds: async () => [{ partition: 0, offset: 9 }],
  feedEnds: async () => [{ partition: 1, offset: 4 }],
  committed: async (group) => (group === 'ingest' ? [{ partition: 0, offset: 7 }] : []),
};
const counters = { positions: async () => [{ partition: 1, offset: 3 }] };

test('pipeline probes answer from the streams, the source and the counter store', async () => {
  const source: SourceProgress = { sourceMark: async () => 'm2', relayConfirmed: async () => 'm1' };
  const probes = new PipelineProbes(streams, source, counters);
  assert.deepEqual(await probes.ingestCommitted(), [{ partition: 0, offset: 7 }], "ingest's group");
  assert.deepEqual(await probes.logEnds(), [{ partition: 0, offset: 9 }]);
  assert.deepEqual(await probes.feedEnds(), [{ partition: 1, offset: 4 }]);
  assert.deepEqual(await probes.counterApplied(), [{ partition: 1, offset: 3 }]);
  assert.equal(await probes.sourceMark(), 'm2');
  assert.equal(await probes.relayConfirmed(), 'm1');
  assert.equal(probes.relayCovers, undefined, 'marks compared as strings');
});

test("a source whose marks do not sort as strings lends its comparison", () => {
  const relayCovers = (confirmed: string, mark: string): boolean => confirmed.length >= mark.length;
  const probes = new PipelineProbes(streams, { sourceMark: async () => '', relayConfirmed: async () => '', relayCovers }, counters);
  assert.equal(probes.relayCovers, relayCovers);
});
