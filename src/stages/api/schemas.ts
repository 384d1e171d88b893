import { Type } from 'typebox';
import { ID_PATTERN } from '../../domain/ids.ts';

const Id = Type.String({ pattern: ID_PATTERN, description: 'Opaque id: 1 to 64 of A-Z a-z 0-9 _ -' });

/** `posts=a,b,c`: comma-separated ids (a bad id in it is `invalid_id`, like one in a path). */
const PostList = Type.String({ minLength: 1, pattern: `^${ID_PATTERN.slice(1, -1)}(,${ID_PATTERN.slice(1, -1)})*$`, description: 'comma-separated post ids' });

export const PostParams = Type.Object({ postId: Id });
export const LikeParams = Type.Object({ postId: Id, userId: Id });
export const UserParams = Type.Object({ userId: Id });

export const ErasureStatusBody = Type.Object({
  userId: Type.Optional(Type.String()),
  postId: Type.Optional(Type.String()),
  status: Type.Union([Type.Literal('none'), Type.Literal('pending'), Type.Literal('applied')]),
  removed: Type.Integer({ description: 'likes removed so far' }),
  partitionsDone: Type.Integer({ description: 'log partitions whose part of the erasure is complete' }),
  partitionsTotal: Type.Integer(),
  acceptedAt: Type.Union([Type.String({ description: 'ISO 8601' }), Type.Null()]),
});

export const WaitQuery = Type.Object({
  wait: Type.Optional(Type.Literal('applied', { description: 'answer only once the counts include the write (read-your-writes)' })),
});

export const LikersQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'nextCursor of the previous page' })),
});

export const CountsQuery = Type.Object({
  posts: PostList,
  viewer: Type.Optional(Id),
});

export const BulkBody = Type.Object(
  {
    events: Type.Array(
      Type.Object(
        {
          op: Type.Union([Type.Literal('like'), Type.Literal('unlike')]),
          postId: Id,
          userId: Id,
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const Accepted = Type.Object({
  accepted: Type.Integer({ description: 'events made durable in the log' }),
  applied: Type.Optional(Type.Boolean({ description: 'with ?wait=applied: the counts include them' })),
});

export const Liked = Type.Object({ liked: Type.Boolean() });

export const LikersPage = Type.Object({
  items: Type.Array(Type.Object({ userId: Type.String(), likedAt: Type.String({ description: 'ISO 8601' }) })),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

/** A user's Likes tab (the posts it liked, newest first): the limits and cursor rules of the likers list. */
export const UserLikesQuery = LikersQuery;

export const UserLikesPage = Type.Object({
  items: Type.Array(Type.Object({ postId: Type.String(), likedAt: Type.String({ description: 'ISO 8601' }) })),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const CountQuery = Type.Object({
  viewer: Type.Optional(Id),
});

export const Count = Type.Object({
  postId: Type.String(),
  count: Type.Integer(),
  liked: Type.Optional(Type.Boolean({ description: 'with ?viewer=: whether the viewer likes the post' })),
});

export const Counts = Type.Object({
  counts: Type.Record(Type.String(), Type.Integer()),
  liked: Type.Optional(Type.Record(Type.String(), Type.Boolean())),
});

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});

export const StreamQuery = Type.Object({
  posts: PostList,
});

/** The `data` of an `event: count` on GET /v1/stream/counts. */
export const CountEvent = Type.Object({ postId: Type.String(), count: Type.Integer() });

export const TopPostsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
});

export const TopPostsBody = Type.Object({
  windowSeconds: Type.Integer(),
  posts: Type.Array(Type.Object({ postId: Type.String(), likes: Type.Integer({ description: 'net likes gained in the window' }), count: Type.Integer() })),
});
