import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startEmbedded } from '../helpers/embedded-app.ts';

test('each stage set runs exactly its stages, with and without the pipeline thread', async (t) => {
  const cases: [boolean, string[], string[]][] = [
    [true, ['api', 'ingest', 'counter', 'reconcile'], ['pipeline']],
    [true, ['reconcile'], ['reconcile']],
    [false, ['api', 'ingest', 'counter', 'reconcile'], ['ingest', 'counter', 'reconcile']],
    [false, ['counter'], ['counter']],
  ];
  for (const [pipelineThread, stages, expected] of cases) {
    const { app } = await startEmbedded(t, { pipelineThread }, new Set(stages as ('api' | 'ingest' | 'counter' | 'reconcile')[]));
    assert.deepEqual(app.stageNames, expected, `pipelineThread=${pipelineThread}, stages ${stages.join(',')}`);
  }
});
