import { ErrorBody, UserLikesPage, UserLikesQuery, UserParams } from '../schemas.ts';
import type { Api, ApiDeps } from '../api-types.ts';

/** A user's Likes tab: the posts it liked, newest first (the likers list turned around). */
export function registerUserLikesRoutes(app: Api, deps: ApiDeps): void {
  app.get(
    '/v1/users/:userId/likes',
    {
      schema: {
        tags: ['reads'],
        summary: "The posts a user liked, newest first (its Likes tab)",
        params: UserParams,
        querystring: UserLikesQuery,
        response: { 200: UserLikesPage, '4xx': ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      const page = await deps.likes.likesOf(request.params.userId, request.query.limit ?? 20, request.query.cursor);
      return {
        items: page.items.map((item) => ({ postId: item.postId, likedAt: new Date(item.likedAt).toISOString() })),
        nextCursor: page.nextCursor ?? null,
      };
    },
  );
}
