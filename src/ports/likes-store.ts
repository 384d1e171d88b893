import type { StreamPosition } from '../domain/change.ts';
import type { ErasureKind, ErasureMarker, ErasureStatus } from '../domain/erasure.ts';
import type { LikeEvent } from '../domain/like-event.ts';
import type { Lifecycle } from './lifecycle.ts';

/**
 * Where an ingest batch sits in the log. The store keeps the log positions it has applied in the
 * same transaction as the rows, and refuses a batch that does not start where they say: a stale
 * ingest (one whose partitions a rebalance gave to another) can then never undo newer events.
 */
export interface LogFence {
  /** The positions this batch starts from, per partition. */
  readonly from: readonly StreamPosition[];
  /** The positions after this batch, stored with the rows. */
  readonly to: readonly StreamPosition[];
}

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

/** Where an erasure marker sits in the log, and how the log places pairs. */
export interface MarkerPlace {
  readonly partition: number;
  readonly offset: number;
  /** The log's partition count (with the marker's S, it says which pairs this partition holds). */
  readonly partitions: number;
}

/** What one `eraseStep` did. */
export interface EraseStepResult {
  /** Rows deleted by this step. */
  readonly removed: number;
  /** True once this partition's part of the erasure is complete (the stored log position is then past the marker). */
  readonly done: boolean;
  /** As in ApplyResult. */
  readonly feedPositions?: readonly StreamPosition[];
}

/** A like the user gave, in its Likes tab. */
export interface UserLike {
  readonly postId: string;
  /** Milliseconds since the epoch. */
  readonly likedAt: number;
}

export interface UserLikesPage {
  readonly items: readonly UserLike[];
  /** Opaque; undefined on the last page. */
  readonly nextCursor: string | undefined;
}

/**
 * The source of truth: one row per (post, user), keyed by (shard of user, post, user). Every
 * row that really changes produces a change-feed record, atomically with the row.
 */
export interface LikesStore extends Lifecycle {
  /**
   * True when the store numbers each event by its log offset, derived from the fence (a
   * partition's events in `apply` are then the whole run of the log ending at `fence.to`): while
   * an erasure's part is under way, ingest then holds back every event of the marker's partition,
   * not only the target's, and applies them after it. Such a store needs a log whose positions
   * each hold one event (no bundled records): the composition root opens the log so. Absent: false.
   */
  readonly offsetsFromFence?: boolean;
  /**
   * Applies events in the given order: like inserts the row if absent, unlike deletes it if
   * present. With a fence (ingest always passes one), throws a retriable `position_conflict`
   * TallyError, changing nothing, when the stored log positions differ from `fence.from`.
   */
  apply(events: readonly LikeEvent[], fence?: LogFence): Promise<ApplyResult>;
  /** The log positions applied so far (what ingest resumes from), one per partition ever applied. */
  logPositions(): Promise<StreamPosition[]>;
  /** Of the given posts, those the user has liked. */
  likedPosts(userId: string, postIds: readonly string[]): Promise<Set<string>>;
  /** Who liked a post, newest first. Throws `invalid_cursor` for a cursor it did not issue. */
  likers(postId: string, limit: number, cursor: string | undefined): Promise<LikersPage>;
  /**
   * The posts a user liked (its Likes tab), newest first, ties by post id ascending, from an index
   * by user. Throws `invalid_cursor` for a cursor it did not issue (a likers cursor included).
   */
  likesOf(userId: string, limit: number, cursor: string | undefined): Promise<UserLikesPage>;
  /**
   * Counts the rows of each post and writes a `recount` change for each into the feed, as one
   * atomic step against concurrent applies, so the counter can set the exact count in order.
   */
  recount(postIds: readonly string[]): Promise<Map<string, number>>;
  /** Post ids with at least one row, in ascending order, after `afterPostId`; for full reconciles. */
  postsAfter(afterPostId: string, limit: number): Promise<string[]>;
  /**
   * One bounded step of an erasure's part in one log partition, in one transaction: deletes at
   * most `limit` of the matching rows whose events travel through `place.partition` (each an
   * ordinary delete with its change-feed record), adds them to the erasure's removed count, and,
   * when none are left, stores the log position past the marker. Fenced like `apply`: throws a
   * retriable `position_conflict` unless the stored position of the partition is the marker's.
   * Repeating a step after a crash deletes nothing twice.
   */
  eraseStep(marker: ErasureMarker, place: MarkerPlace, limit: number): Promise<EraseStepResult>;
  /** Records that an erasure was accepted into the log (idempotent), so its status is `pending` at once. */
  erasureAccepted(marker: ErasureMarker, partitionsTotal: number): Promise<void>;
  /** The latest erasure of a user or a post, or undefined when there was none. */
  erasureStatus(kind: ErasureKind, target: string): Promise<ErasureStatus | undefined>;
}
