import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErasureClient } from '../helpers/erasure-client.ts';
import { eventually } from '../helpers/wait.ts';
import type { FaultCluster, StageKind, StoreInspector } from './fault-cluster.ts';

/** The size of one erasure-under-a-kill round. */
export interface ErasureRound {
  /** Likes the erased user gives before its erasure, one per post. */
  readonly likes: number;
  /** Of those posts, how many a user who stays also likes: their counts must drop from 2 to exactly 1. */
  readonly shared: number;
}

/**
 * Seeds `victim` with `round.likes` likes on posts `<prefix><i>` (and `<victim>-keeper` with the
 * first `round.shared` of them), then waits until the api serves every seeded count: the writes are
 * sent without `?wait=applied` (a slow store would answer 504 and a resend would only add work).
 */
export async function seedVictim(client: ErasureClient, round: ErasureRound, prefix: string, victim: string): Promise<string[]> {
  const posts = Array.from({ length: round.likes }, (_, i) => `${prefix}${i}`);
  for (let i = 0; i < posts.length; i += 5000) await client.accepted('POST', '/v1/events', { events: posts.slice(i, i + 5000).map((postId) => ({ op: 'like', postId, userId: victim })) });
  await client.accepted('POST', '/v1/events', { events: posts.slice(0, round.shared).map((postId) => ({ op: 'like', postId, userId: `${victim}-keeper` })) });
  await eventually(`${round.likes} seed likes counted`, 180_000, async () => {
    const counts = await client.counts(posts).catch(() => undefined);
    return counts !== undefined && posts.every((p, i) => counts.get(p) === (i < round.shared ? 2 : 1)) ? true : undefined;
  }, 1000);
  return posts;
}

/**
 * Waits until the erasure has removed a random share (up to half) of the likes and is still under
 * way: the moment to kill. Resolves with how many were removed then.
 */
export async function erasureMidway(client: ErasureClient, round: ErasureRound, victim: string): Promise<number> {
  const threshold = 1 + Math.floor(Math.random() * (round.likes / 2));
  return eventually(
    `the erasure under way, ${threshold} removed`,
    120_000,
    async () => {
      const status = await client.erasure(victim).catch(() => undefined);
      const removed = Number(status?.removed ?? 0);
      if (status?.status === 'applied') throw new Error(`the erasure completed before ${threshold} were removed: nothing to kill in the middle of`);
      return status?.status === 'pending' && removed >= threshold ? removed : undefined;
    },
    5,
  );
}

/** Waits until the erasure is applied (the api may be restarting meanwhile); resolves with its status. */
export async function erasureApplied(client: ErasureClient, victim: string, timeoutMs: number): Promise<Record<string, unknown>> {
  let last: Record<string, unknown> | undefined;
  try {
    return await eventually(
      'the erasure applied',
      timeoutMs,
      async () => {
        last = await client.erasure(victim).catch(() => last);
        return last?.status === 'applied' ? last : undefined;
      },
      100,
    );
  } catch (error) {
    throw new Error(`${String(error)}; last status ${JSON.stringify(last)}`, { cause: error });
  }
}

/** How `eraseUnderKills` runs its rounds on one distributed cluster. */
export interface ErasureKillRounds {
  readonly cluster: FaultCluster;
  /** The cluster's store, read directly (not through Tally). */
  readonly inspector: StoreInspector;
  readonly round: ErasureRound;
  /** The stages to kill, one round each. */
  readonly kinds: readonly StageKind[];
  /** How long an erasure may take to be applied after its kill. */
  readonly appliedTimeoutMs: number;
}

/**
 * One round per stage kind: seed a user, erase it, kill -9 the stage when the erasure is under
 * way, restart it; then the erasure is applied with exactly `round.likes` removed, the user has no
 * row left, and every count of its posts (stored and served) equals its rows per pair.
 */
export async function eraseUnderKills(t: { diagnostic: (message: string) => void }, rounds: ErasureKillRounds): Promise<void> {
  const { cluster, inspector, round } = rounds;
  const client = new ErasureClient(() => cluster.apiUrl());
  for (const kind of rounds.kinds) {
    const victim = `gone-${kind}`;
    const started = Date.now();
    const posts = await seedVictim(client, round, `${kind}v`, victim);
    const seededMs = Date.now() - started;
    await client.accepted('DELETE', `/v1/users/${victim}/likes`);
    const at = await erasureMidway(client, round, victim);
    const restartMs = await cluster.killAndRestart(kind);
    const status = await erasureApplied(client, victim, rounds.appliedTimeoutMs);
    const erasedMs = Date.now() - started - seededMs;
    assert.equal(status.removed, round.likes, `${kind}: every like removed, none counted twice`);
    await cluster.pipelineFlows(`after the erasure with a ${kind} kill`);
    const pairs = await inspector.pairs(cluster.ns);
    assert.equal([...pairs].filter((p) => p.endsWith(`/${victim}`)).length, 0, `${kind}: no row of the erased user`);
    const expected = (i: number): number => (i < round.shared ? 1 : 0);
    const served = await eventually(`${kind}: counts of the erased user's posts settle`, 60_000, async () => {
      const counts = await client.counts(posts);
      return posts.every((p, i) => (counts.get(p) ?? 0) === expected(i)) ? counts : undefined;
    }, 250).catch(() => undefined);
    const stored = await inspector.counts(cluster.ns);
    const wrong = posts.filter((p, i) => (stored.get(p) ?? 0) !== expected(i) || (pairs.has(`${p}/${victim}-keeper`) ? 1 : 0) !== expected(i));
    assert.deepEqual(wrong.slice(0, 10).map((p) => `${p}: stored ${String(stored.get(p))}, keeper row ${String(pairs.has(`${p}/${victim}-keeper`))}, victim row ${String(pairs.has(`${p}/${victim}`))}`), [], `${kind}: stored counts and rows exact per pair (${wrong.length} wrong)`);
    assert.ok(served !== undefined, `${kind}: the API serves the exact counts`);
    t.diagnostic(`${kind}: seeded in ${seededMs} ms; killed after ${at} of ${round.likes} removed, restarted in ${restartMs} ms; erasure applied ${erasedMs} ms after it was sent, counts exact`);
    await sleep(200);
  }
}
