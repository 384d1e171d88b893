/**
 * A change-feed record. `delta` is a likes row that really appeared (+1) or disappeared (-1).
 * `recount` is written by reconcile in the same atomic step as it counted the rows: every delta
 * before it in the feed is included in `count`, every delta after it is not.
 */
export type Change =
  | { readonly kind: 'delta'; readonly postId: string; readonly userId: string; readonly delta: 1 | -1 }
  | { readonly kind: 'recount'; readonly postId: string; readonly count: number };

/** A position in a partitioned stream: `offset` is the next offset to read (Kafka's convention). */
export interface StreamPosition {
  readonly partition: number;
  readonly offset: number;
}

/** A change as read from the feed, with where it sits. */
export interface PositionedChange {
  readonly change: Change;
  readonly partition: number;
  readonly offset: number;
}
