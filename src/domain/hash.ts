/** FNV-1a, 32 bit, over the UTF-16 code units of a string. Stable across processes and languages. */
export function fnv1a(value: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The log partition of a post: every event of one post, hence of one (post, user), goes to one partition. */
export function partitionOf(key: string, partitions: number): number {
  return fnv1a(key) % partitions;
}

/**
 * The likes-store shard of a (post, user) row, derived from the user id (not random), so one
 * pair always lands in the same shard and keeps its order.
 */
export function shardOf(userId: string, shards: number): number {
  return fnv1a(userId) % shards;
}
