import type { StreamPosition } from '../domain/change.ts';
import type { LikeEvent } from '../domain/like-event.ts';
import type { Lifecycle } from './lifecycle.ts';

/** What one `apply` did. */
export interface ApplyResult {
  /** Rows inserted or deleted (likes already present and unlikes of absent rows are not changes). */
  readonly changed: number;
  /**
   * Where the change feed stood right after this apply, when the store knows it (embedded);
   * the pipeline uses it to answer `?wait=applied`.
   */
  readonly feedPositions?: readonly StreamPosition[];
}

export interface Liker {
  readonly userId: string;
  /** Milliseconds since the epoch. */
  readonly likedAt: number;
}

export interface LikersPage {
  readonly items: readonly Liker[];
  /** Opaque; undefined on the last page. */
  readonly nextCursor: string | undefined;
}

/**
 * The source of truth: one row per (post, user), keyed by (shard of user, post, user). Every
 * row that really changes produces a change-feed record, atomically with the row.
 */
export interface LikesStore extends Lifecycle {
  /** Applies events in the given order: like inserts the row if absent, unlike deletes it if present. */
  apply(events: readonly LikeEvent[]): Promise<ApplyResult>;
  /** Of the given posts, those the user has liked. */
  likedPosts(userId: string, postIds: readonly string[]): Promise<Set<string>>;
  /** Who liked a post, newest first. Throws `invalid_cursor` for a cursor it did not issue. */
  likers(postId: string, limit: number, cursor: string | undefined): Promise<LikersPage>;
  /**
   * Counts the rows of each post and writes a `recount` change for each into the feed, as one
   * atomic step against concurrent applies, so the counter can set the exact count in order.
   */
  recount(postIds: readonly string[]): Promise<Map<string, number>>;
  /** Post ids with at least one row, in ascending order, after `afterPostId`; for full reconciles. */
  postsAfter(afterPostId: string, limit: number): Promise<string[]>;
}
