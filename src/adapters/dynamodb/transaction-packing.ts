import { TRANSACT_MAX } from './dynamo-batch.ts';
import { bucketOf } from './dynamo-post-locks.ts';

/**
 * Splits writes (likes, unlikes, an erasure's deletes) into transactions: each carries
 * `fenceChecks` fixed actions (holder checks, an erasure part's count), one free-check per
 * distinct lock bucket and one write per item, at most 100 actions. Sorted by bucket first
 * (stable, so a post's events keep their order), so that a transaction checks few buckets.
 */
export function packTransactions<T extends { readonly postId: string }>(items: readonly T[], fenceChecks: number): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let buckets = new Set<number>();
  for (const item of [...items].sort((a, b) => bucketOf(a.postId) - bucketOf(b.postId))) {
    const bucket = bucketOf(item.postId);
    const extra = buckets.has(bucket) ? 1 : 2;
    if (current.length > 0 && fenceChecks + buckets.size + current.length + extra > TRANSACT_MAX) {
      groups.push(current);
      current = [];
      buckets = new Set();
    }
    current.push(item);
    buckets.add(bucket);
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
