import type { Static } from 'typebox';
import type { ErrorCode } from '../../../src/domain/errors.ts';
import type * as Schemas from '../../../src/stages/api/schemas.ts';

// Every type of the wire is derived from the server's own typebox schemas (type-only imports,
// erased at build): a schema change that breaks the client breaks the type check.

/** 202 of a like, an unlike or a bulk write. */
export type Accepted = Static<typeof Schemas.Accepted>;
/** GET /v1/posts/{postId}/likes/{userId}. */
export type Liked = Static<typeof Schemas.Liked>;
/** One page of GET /v1/posts/{postId}/likes. */
export type LikersPage = Static<typeof Schemas.LikersPage>;
/** One entry of the likers list. */
export type Liker = LikersPage['items'][number];
/** One page of GET /v1/users/{userId}/likes (a user's Likes tab). */
export type UserLikesPage = Static<typeof Schemas.UserLikesPage>;
/** One entry of a Likes tab: a post the user liked, and when. */
export type UserLike = UserLikesPage['items'][number];
/** GET /v1/posts/{postId}/count. */
export type Count = Static<typeof Schemas.Count>;
/** GET /v1/counts. */
export type Counts = Static<typeof Schemas.Counts>;
/** The body of POST /v1/events. */
export type BulkBody = Static<typeof Schemas.BulkBody>;
/** One event of a bulk write. */
export type BulkEvent = BulkBody['events'][number];
/** The `data` of an `event: count` of GET /v1/stream/counts. */
export type CountEvent = Static<typeof Schemas.CountEvent>;
/** Every error answer: `{"error": {"code", "message"}}`. */
export type ErrorBody = Static<typeof Schemas.ErrorBody>;
/** The query of a write (`?wait=applied`). */
export type WaitQuery = Static<typeof Schemas.WaitQuery>;

/** A code of the API (README, "Errors"), or one of the client's own. */
export type TallyErrorCode = ErrorCode | 'network_error' | 'unexpected_response';
