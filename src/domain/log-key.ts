import { fnv1a } from './hash.ts';

/**
 * Sub-shards of the like-events log (the seed's `post_id#k`). A post's events are keyed
 * `postId#k` with `k = fnv1a(userId) mod S`: never random, so every event of one (post, user)
 * pair has one key, one partition, and keeps its order, while one post's events spread over up to
 * S partitions. S = 1 is the plain per-post key `postId`.
 */

/** The sub-shard of a (post, user) pair: `fnv1a(userId) mod shards`. */
export function hotShardOf(userId: string, shards: number): number {
  return shards <= 1 ? 0 : fnv1a(userId) % shards;
}

/** The log key of an event: `postId` when S = 1, else `postId#k`. */
export function logKeyOf(postId: string, userId: string, shards: number): string {
  return shards <= 1 ? postId : `${postId}#${hotShardOf(userId, shards)}`;
}

/**
 * The log partition of an event: `(fnv1a(postId) + k) mod partitions`. Sub-shards of one post
 * take consecutive partitions, so they land on distinct partitions (up to `partitions` of them)
 * and, under a round-robin assignment (partition i to member i mod N), on distinct consumers.
 * With S = 1 it is `fnv1a(postId) mod partitions`, the seed's placement.
 */
export function logPartitionOf(postId: string, userId: string, shards: number, partitions: number): number {
  return (fnv1a(postId) + hotShardOf(userId, shards)) % partitions;
}
