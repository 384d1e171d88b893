/** A page of the (post, user) pairs that have a row in the likes store, in key order. */
export interface PairsPage {
  readonly pairs: readonly (readonly [postId: string, userId: string])[];
  /** Opaque; undefined after the last page. */
  readonly next: string | undefined;
}

/**
 * Every liked pair of a likes store, a page at a time: what the liked-pairs filter loads at start
 * (stages/read/liked-pairs-filter.ts). The embedded store offers it.
 */
export interface LikedPairsSource {
  pairsAfter(after: string | undefined, limit: number): Promise<PairsPage>;
}
