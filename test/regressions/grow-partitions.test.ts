import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createApp, type App, type StageName } from '../../src/composition/app.ts';
import { createEmbeddedPorts } from '../../src/composition/embedded-ports.ts';
import { isTallyError } from '../../src/domain/errors.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { drained } from '../helpers/drain.ts';
import { ALL_STAGES, testOptions } from '../helpers/embedded-app.ts';
import { LikesModel } from '../helpers/likes-model.ts';

// Issue 11: nothing grew --partitions on a data folder that still held unconsumed events. A post
// whose partition changes would have its old events in one partition and its new ones in another,
// and a like and a later unlike of one user could be applied out of order.
async function open(dir: string, partitions: number, stages: ReadonlySet<StageName>): Promise<App> {
  const options = testOptions({ dataDir: dir, partitions });
  const app = await createApp(createEmbeddedPorts(options), options, stages, createLogger('silent'), new Metrics({ defaultMetrics: false }));
  await app.start();
  return app;
}

const events = (op: 'like' | 'unlike', n: number) => Array.from({ length: n }, (_, i) => ({ op, postId: `gp${i}`, userId: `u${i % 7}` }));

async function bulk(app: App, list: ReturnType<typeof events>, model: LikesModel): Promise<void> {
  const res = await app.api?.inject({ method: 'POST', url: '/v1/events', payload: { events: list } });
  assert.equal(res?.statusCode, 202);
  model.apply(list);
}

test('--partitions can grow only once the log is read: refused with a clear message while events wait, then counts stay exact', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-grow-'));
  const model = new LikesModel();
  try {
    // Likes accepted while no ingest runs: they wait in 2 partitions.
    const apiOnly = await open(dir, 2, new Set(['api']));
    await bulk(apiOnly, events('like', 40), model);
    await apiOnly.stop(0);

    await assert.rejects(open(dir, 4, ALL_STAGES), (error: unknown) => {
      assert.ok(isTallyError(error) && error.code === 'invalid_option', String(error));
      assert.match(error.message, /--partitions 4 .*40 unread event\(s\) in the 2 partitions.*--partitions 2/);
      return true;
    });
    await assert.rejects(open(dir, 1, ALL_STAGES), /partitions can only grow, set --partitions to 2 or more/);

    // Drained with the old count, the change is allowed; a like then an unlike of every pair, in
    // the new partitions, end unliked.
    const drain = await open(dir, 2, ALL_STAGES);
    await drained(drain);
    await drain.stop();
    const grown = await open(dir, 4, ALL_STAGES);
    try {
      await bulk(grown, events('unlike', 40).filter((_, i) => i % 2 === 0), model);
      await drained(grown);
      const res = await grown.api?.inject({ method: 'GET', url: `/v1/counts?posts=${Array.from({ length: 40 }, (_, i) => `gp${i}`).join(',')}` });
      const served = res?.json<{ counts: Record<string, number> }>().counts ?? {};
      const expected = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`gp${i}`, model.counts().get(`gp${i}`) ?? 0]));
      assert.deepEqual(served, expected);
    } finally {
      await grown.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
