import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTallyError } from '../../src/domain/errors.ts';
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

test('a port already in use stops start-up with a message naming the port and what to do', async (t) => {
  const { app } = await startEmbedded(t, {}, new Set(['api']));
  const port = Number(new URL(app.url ?? '').port);
  await assert.rejects(
    startEmbedded(t, { port }, new Set(['api'])),
    (e: unknown) => isTallyError(e) && e.code === 'invalid_option' && e.message.includes(`port ${port}`) && e.message.includes('--port'),
  );
});
