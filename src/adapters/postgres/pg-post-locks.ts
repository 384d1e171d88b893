import { fnv1a } from '../../domain/hash.ts';
import type { PgQueryable } from './pg-client.ts';

/**
 * Posts are locked through 1,024 advisory-lock buckets rather than one lock per post: a batch of
 * thousands of posts then holds at most 1,024 locks, well inside PostgreSQL's shared lock table
 * (`max_locks_per_transaction` × connections). Two posts sharing a bucket only wait for each
 * other during a recount.
 */
const LOCK_BUCKETS = 1024;

/** Lock keys of a namespace: the class keeps namespaces apart, the bucket is the post's hash. */
export interface PostLocks {
  /** Shared: held by every apply until it commits. Applies never wait for each other. */
  shared(tx: PgQueryable, postIds: Iterable<string>): Promise<void>;
  /** Exclusive: a recount waits for the applies in flight on its posts and holds back new ones. */
  exclusive(tx: PgQueryable, postIds: Iterable<string>): Promise<void>;
}

export function postLocks(namespace: string): PostLocks {
  const lockClass = fnv1a(`tally-posts:${namespace}`) | 0;
  // Sorted and deduplicated: every transaction takes its locks in one global order, so none deadlock.
  const buckets = (postIds: Iterable<string>): number[] => {
    const set = new Set<number>();
    for (const postId of postIds) set.add(fnv1a(postId) % LOCK_BUCKETS);
    return [...set].sort((a, b) => a - b);
  };
  // unnest returns the array's elements in order, so the locks are taken in that order.
  const take = async (tx: PgQueryable, fn: string, postIds: Iterable<string>): Promise<void> => {
    await tx.query(`SELECT count(${fn}($1::int4, b)) FROM unnest($2::int4[]) AS b`, [lockClass, buckets(postIds)]);
  };
  return {
    shared: (tx, postIds) => take(tx, 'pg_advisory_xact_lock_shared', postIds),
    exclusive: (tx, postIds) => take(tx, 'pg_advisory_xact_lock', postIds),
  };
}
