/** What a client asked for: `like` creates the (post, user) row, `unlike` removes it. */
export type LikeOp = 'like' | 'unlike';

/** One like or unlike, as appended to the event log. */
export interface LikeEvent {
  readonly op: LikeOp;
  readonly postId: string;
  readonly userId: string;
  /** Milliseconds since the epoch at which the api accepted the event. */
  readonly at: number;
}
