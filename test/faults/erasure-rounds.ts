import type { ErasureClient } from '../helpers/erasure-client.ts';
import { eventually } from '../helpers/wait.ts';

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
