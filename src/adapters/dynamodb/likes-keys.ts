import { shardOf } from '../../domain/hash.ts';
import { str, type Item } from './dynamo-batch.ts';

/** Partition-key prefix of the recount markers in the likes table (no post id can start a pk with `#`). */
export const RECOUNT_PREFIX = '#recount#';

/** The likes-table key of a (post, user) like: `pk` = `<shard>#<postId>` (shard = hash(user) mod shards), `sk` = userId. */
export function likeKey(postId: string, userId: string, shards: number): Item {
  return { pk: str(`${shardOf(userId, shards)}#${postId}`), sk: str(userId) };
}

/** What a likes-table item is, from its partition key. */
export type LikesItemKind = { readonly kind: 'like'; readonly postId: string } | { readonly kind: 'recount'; readonly postId: string } | { readonly kind: 'other' };

export function classifyPk(pk: string): LikesItemKind {
  if (pk.startsWith(RECOUNT_PREFIX)) return { kind: 'recount', postId: pk.slice(RECOUNT_PREFIX.length) };
  const hash = pk.indexOf('#');
  if (hash <= 0) return { kind: 'other' };
  return { kind: 'like', postId: pk.slice(hash + 1) };
}


