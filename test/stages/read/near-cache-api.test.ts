/**
 * The near cache as the distributed api wires it (createApp over stand-in ports, no servers):
 * reads of a hot post are served from memory within `--near-cache-ms`, and a writer's
 * `?wait=applied` answer is followed by reads that include the write, even when the near cache
 * and the shared cache (Redis) still hold the count from before it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApp } from '../../../src/composition/app.ts';
import type { PortSet } from '../../../src/composition/port-set.ts';
import { loadOptions } from '../../../src/config/options.ts';
import type { LikeEvent } from '../../../src/domain/like-event.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import type { ChangeFeed } from '../../../src/ports/change-feed.ts';
import type { CountCache } from '../../../src/ports/count-cache.ts';
import type { CountNotifier } from '../../../src/ports/count-notifier.ts';
import type { CounterStore, VersionedCount } from '../../../src/ports/counter-store.ts';
import type { EventLog } from '../../../src/ports/event-log.ts';
import type { LikesStore } from '../../../src/ports/likes-store.ts';

const lifecycle = { init: async () => undefined, close: async () => undefined };

/** The counter store holds the truth; the shared cache lags behind it until `catchUp`. */
function standIns() {
  const truth = new Map<string, VersionedCount>();
  const shared = new Map<string, VersionedCount>();
  let sharedReads = 0;
  let version = 0;
  const counters: CounterStore = {
    ...lifecycle,
    apply: async () => [],
    positions: async () => [],
    getMany: async (ids) => new Map(ids.flatMap((id) => (truth.has(id) ? [[id, truth.get(id) as VersionedCount]] : []))),
  };
  const cache: CountCache = {
    ...lifecycle,
    getMany: async (ids) => {
      sharedReads += ids.length;
      return ids.map((id) => shared.get(id));
    },
    setMany: async (entries) => {
      for (const e of entries) if ((shared.get(e.postId)?.version ?? -1) < e.version) shared.set(e.postId, e);
    },
  };
  const log: EventLog = { ...lifecycle, partitions: 1, hotShards: 1, append: async () => ({ positions: [{ partition: 0, offset: 1 }] }), appendErasure: () => Promise.reject(new Error('unused')), consumer: () => Promise.reject(new Error('unused')) };
  /** The pipeline counts a write: the counter store moves, the shared cache does not (yet). */
  const count = (events: readonly LikeEvent[]): void => {
    for (const e of events) {
      const now = truth.get(e.postId)?.count ?? 0;
      truth.set(e.postId, { postId: e.postId, count: now + (e.op === 'like' ? 1 : -1), version: ++version });
    }
  };
  let pending: LikeEvent[] = [];
  const appendAndRemember: EventLog = {
    ...log,
    append: async (events) => {
      pending.push(...events);
      return log.append(events);
    },
  };
  const ports: PortSet = {
    mode: 'distributed',
    events: appendAndRemember,
    likes: { ...lifecycle } as unknown as LikesStore,
    feed: { ...lifecycle } as unknown as ChangeFeed,
    counters,
    cache,
    progress: {
      ingestLag: () => 0,
      waitApplied: async () => {
        count(pending);
        pending = [];
        return true;
      },
    },
    tracker: undefined,
    notifier: { ...lifecycle, publish: async () => undefined, subscribe: () => ({ close: () => undefined }) } satisfies CountNotifier,
    extraStages: new Map(),
    init: async () => undefined,
    close: async () => undefined,
    describe: () => 'stand-ins',
  };
  return {
    ports,
    count: () => {
      count(pending);
      pending = [];
    },
    catchUp: () => {
      for (const [id, v] of truth) shared.set(id, v);
    },
    get sharedReads() {
      return sharedReads;
    },
  };
}

async function api(nearCacheMs: number) {
  const rig = standIns();
  const options = { ...loadOptions(new Map(), {}), nearCacheMs, port: 0 };
  const app = await createApp(rig.ports, options, new Set(['api']), createLogger('silent'));
  const inject = app.api;
  assert.ok(inject !== undefined);
  const count = async (post: string): Promise<number> => ((await inject.inject({ method: 'GET', url: `/v1/posts/${post}/count` })).json<{ count: number }>()).count;
  const like = async (post: string, user: string, wait: boolean): Promise<number> =>
    (await inject.inject({ method: 'PUT', url: `/v1/posts/${post}/likes/${user}${wait ? '?wait=applied' : ''}` })).statusCode;
  const counts = async (posts: string[]): Promise<Record<string, number>> =>
    ((await inject.inject({ method: 'GET', url: `/v1/counts?posts=${posts.join(',')}` })).json<{ counts: Record<string, number> }>()).counts;
  return { rig, count, counts, like, close: () => inject.close() };
}

test('near cache in the api: many reads of one post cost one shared-cache read per bound', async (t) => {
  const a = await api(200);
  t.after(a.close);
  const started = performance.now();
  for (let i = 0; i < 500; i++) assert.equal(await a.count('hot'), 0);
  // One read per 200 ms bound begun (on a loaded machine the 500 reads may span more than one).
  const bounds = Math.floor((performance.now() - started) / 200) + 1;
  assert.ok(a.rig.sharedReads >= 1 && a.rig.sharedReads <= bounds, `${a.rig.sharedReads} shared-cache reads in ${bounds} bound(s)`);
  const before = a.rig.sharedReads;
  await sleep(250);
  await a.count('hot');
  assert.equal(a.rig.sharedReads, before + 1, 'after the bound the shared cache is read again');
});

test('near cache in the api: a write without wait shows within the bound; ?wait=applied shows at once', async (t) => {
  const a = await api(300);
  t.after(a.close);
  assert.equal(await a.count('p'), 0);
  // Counted and in the shared cache, but this api's near cache still holds 0: visible after the bound.
  assert.equal(await a.like('p', 'u1', false), 202);
  a.rig.count();
  a.rig.catchUp();
  assert.equal(await a.count('p'), 0, 'inside the bound the near cache may answer the older count');
  await sleep(320);
  assert.equal(await a.count('p'), 1, 'never older than the bound');
  // The writer who waits reads its own write at once, though the shared cache has not caught up.
  assert.equal(await a.like('p', 'u2', true), 202);
  assert.equal(await a.count('p'), 2);
  assert.equal(await a.like('p', 'u3', true), 202);
  assert.deepEqual(await a.counts(['p', 'q']), { p: 3, q: 0 }, 'GET /v1/counts too');
});
