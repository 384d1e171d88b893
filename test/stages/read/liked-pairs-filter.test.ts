import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../../src/observability/logger.ts';
import type { PairsPage } from '../../../src/ports/liked-pairs-source.ts';
import { LikedPairsFilter } from '../../../src/stages/read/liked-pairs-filter.ts';
import { ALL_STAGES, startEmbedded } from '../../helpers/embedded-app.ts';
import { LikesModel } from '../../helpers/likes-model.ts';
import { eventually } from '../../helpers/wait.ts';

const log = createLogger('silent');

/** A store of pairs served in pages of `page`, in key order; records when it was first read. */
function pagedSource(pairs: readonly (readonly [string, string])[], page: number) {
  const sorted = [...pairs].sort((a, b) => (a[0] + '\u0000' + a[1] < b[0] + '\u0000' + b[1] ? -1 : 1));
  const reads: number[] = [];
  return {
    reads,
    pairsAfter(after: string | undefined, limit: number): Promise<PairsPage> {
      reads.push(Date.now());
      const from = after === undefined ? 0 : Number(after);
      const n = Math.min(limit, page);
      const slice = sorted.slice(from, from + n);
      return Promise.resolve({ pairs: slice, next: from + n >= sorted.length ? undefined : String(from + n) });
    },
  };
}

test('the filter: every pair is a candidate until the store is loaded; then no liked pair is ever ruled out, across many layers, and few unliked pairs get through', async () => {
  const stored = Array.from({ length: 20_000 }, (_, i) => [`p${i % 997}`, `u${i}`] as const);
  const source = pagedSource(stored, 3000);
  let release = (): void => undefined;
  const caughtUp = new Promise<void>((resolve) => (release = resolve));
  const ready: number[] = [];
  const filter = new LikedPairsFilter({ source, caughtUp: () => caughtUp, log, gauge: { set: (v) => ready.push(v) } }, { firstLayerPairs: 1000 });
  filter.start();

  // Until ingest has caught up, the store is not read and every pair is a candidate.
  filter.accepted([{ op: 'like', postId: 'late', userId: 'x', at: 1 }, { op: 'unlike', postId: 'gone', userId: 'x', at: 1 }]);
  await sleep(20);
  assert.equal(source.reads.length, 0, 'the store is not scanned before the log has been applied');
  assert.deepEqual(filter.candidates('nobody', ['a', 'b']), ['a', 'b']);
  assert.equal(filter.ready, false);

  release();
  // Likes accepted while the store is being loaded count as well.
  filter.accepted([{ op: 'like', postId: 'during', userId: 'y', at: 2 }]);
  await eventually('the filter loads', 5000, () => (filter.ready ? true : undefined));
  assert.deepEqual(ready, [0, 1], 'the gauge says 0, then 1');
  assert.ok(source.reads.length >= 7, `the store was read in pages (${source.reads.length})`);

  for (const [postId, userId] of [...stored, ['late', 'x'], ['during', 'y']] as const) {
    assert.deepEqual(filter.candidates(userId, [postId]), [postId], `liked pair ${postId}/${userId} is a candidate`);
  }
  assert.deepEqual(filter.candidates('x', ['gone']), [], 'an unliked pair never liked before is ruled out');
  const probes = Array.from({ length: 20_000 }, (_, i) => `q${i}`);
  const through = filter.candidates('stranger', probes).length;
  assert.ok(through < 400, `false positives ${through} of ${probes.length} (< 2%)`);
  filter.stop();
});

test('embedded: likes in the log but not yet ingested at a restart keep their flags exact while the filter waits, loads and takes over', { timeout: 120_000 }, async (t) => {
  // First run: the api alone, so every like stays in the log, unapplied.
  const first = await startEmbedded(t, {}, new Set(['api']));
  const model = new LikesModel();
  const users = Array.from({ length: 40 }, (_, i) => `v${i}`);
  const posts = Array.from({ length: 50 }, (_, i) => `f${i}`);
  const events = users.flatMap((userId, u) => posts.filter((_, p) => (u * 7 + p * 3) % 5 === 0).map((postId) => ({ op: 'like' as const, postId, userId })));
  const post = async (url: string, body: unknown, query = ''): Promise<void> => {
    const response = await fetch(`${url}/v1/events${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(response.status, 202, await response.text());
  };
  await post(first.app.url ?? '', { events });
  model.apply(events);
  await first.app.stop(0);

  // Second run on the same folder, every stage: ingest applies the backlog while reads go on.
  const second = await startEmbedded(t, { dataDir: first.dir }, ALL_STAGES);
  const url = second.app.url ?? '';
  const flagsExact = async (round: string): Promise<void> => {
    for (const viewer of users) {
      const body = (await (await fetch(`${url}/v1/counts?posts=${posts.join(',')}&viewer=${viewer}`)).json()) as { liked: Record<string, boolean> };
      const wrong = posts.filter((p) => body.liked[p] !== model.liked(p, viewer));
      assert.deepEqual(wrong, [], `${round}: flags of ${viewer}`);
    }
  };
  const filterReady = async (): Promise<boolean> => (await (await fetch(`${url}/metrics`)).text()).includes('tally_viewer_filter_ready 1');
  let rounds = 0;
  let sawNotReady = false;
  while (!(await filterReady())) {
    sawNotReady = true;
    // Writes with wait=applied make the flags readable right after their 202.
    const more = [{ op: 'like' as const, postId: posts[rounds % posts.length] as string, userId: `late${rounds}` }];
    await post(url, { events: more }, '?wait=applied');
    model.apply(more);
    await flagsExact(`before the filter is ready, round ${rounds}`);
    if (++rounds > 200) assert.fail('the filter never became ready');
  }
  await flagsExact('filter ready');
  // After it is ready, likes and unlikes go on; every flag stays exact.
  for (let i = 0; i < 20; i++) {
    const viewer = users[i % users.length] as string;
    const change = [{ op: i % 3 === 0 ? ('unlike' as const) : ('like' as const), postId: posts[(i * 11) % posts.length] as string, userId: viewer }];
    await post(url, { events: change }, '?wait=applied');
    model.apply(change);
    await flagsExact(`after write ${i} (${change[0]?.op ?? ''})`);
  }
  t.diagnostic(`flag rounds before the filter was ready: ${rounds} (saw it not ready: ${String(sawNotReady)})`);
});
