import type { Static } from 'typebox';
import { TallyError } from '../../../domain/errors.ts';
import { isValidId } from '../../../domain/ids.ts';
import { Count, CountQuery, Counts, CountsQuery, ErrorBody, LikeParams, Liked, LikersPage, LikersQuery, PostParams } from '../schemas.ts';
import type { Api, ApiDeps, ApiOptions } from '../api-types.ts';

/** Has-liked, likers list, one count, many counts. */
export function registerReadRoutes(app: Api, deps: ApiDeps, options: ApiOptions): void {
  app.get(
    '/v1/posts/:postId/likes/:userId',
    { schema: { tags: ['reads'], summary: 'Has this user liked the post', params: LikeParams, response: { 200: Liked, '4xx': ErrorBody, 503: ErrorBody } } },
    async (request) => {
      const { postId, userId } = request.params;
      const liked = await likedAmong(deps, userId, [postId]);
      return { liked: liked.has(postId) };
    },
  );

  app.get(
    '/v1/posts/:postId/likes',
    {
      schema: {
        tags: ['reads'],
        summary: 'Who liked the post, newest first',
        params: PostParams,
        querystring: LikersQuery,
        response: { 200: LikersPage, '4xx': ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      const page = await deps.likes.likers(request.params.postId, request.query.limit ?? 20, request.query.cursor);
      return {
        items: page.items.map((item) => ({ userId: item.userId, likedAt: new Date(item.likedAt).toISOString() })),
        nextCursor: page.nextCursor ?? null,
      };
    },
  );

  app.get(
    '/v1/posts/:postId/count',
    {
      schema: {
        tags: ['reads'],
        summary: "The like count of a post, with the viewer's own liked flag",
        params: PostParams,
        querystring: CountQuery,
        response: { 200: Count, '4xx': ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const { postId } = request.params;
      const count = (await deps.reader.counts([postId]))[0] ?? 0;
      if (deps.reader.maybeStale) void reply.header('tally-stale', 'true');
      const viewer = request.query.viewer;
      if (viewer === undefined) return { postId, count };
      return { postId, count, liked: (await likedAmong(deps, viewer, [postId])).has(postId) };
    },
  );

  app.get(
    '/v1/counts',
    {
      schema: {
        tags: ['reads'],
        summary: "Many counts at once, with the viewer's own liked flags",
        querystring: CountsQuery,
        response: { 200: Counts, '4xx': ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const postIds = parsePostList(request.query.posts, options.maxReadPosts);
      const counts = await deps.reader.counts(postIds);
      if (deps.reader.maybeStale) void reply.header('tally-stale', 'true');
      const viewer = request.query.viewer;
      const liked = viewer === undefined ? undefined : await likedAmong(deps, viewer, postIds);
      // The Counts body written directly: building two objects of dynamic keys and serializing
      // them cost more than the lookups. Valid ids need no escaping in JSON.
      // A string with a JSON content type is sent as is; the typed reply only knows the object form.
      const body = countsJson(postIds, counts, liked) as unknown as Static<typeof Counts>;
      return reply.type('application/json; charset=utf-8').send(body);
    },
  );
}

/** Of `postIds`, those the user liked: looked up in the store, except the pairs the filter rules out. */
async function likedAmong(deps: ApiDeps, userId: string, postIds: readonly string[]): Promise<ReadonlySet<string>> {
  const candidates = deps.likedFilter?.candidates(userId, postIds) ?? postIds;
  return candidates.length === 0 ? new Set() : deps.likes.likedPosts(userId, candidates);
}

/** `{"counts": {...}, "liked": {...}}` (the Counts schema) for valid, distinct post ids and their counts (aligned). */
export function countsJson(postIds: readonly string[], counts: readonly number[], liked: ReadonlySet<string> | undefined): string {
  let json = '{"counts":{';
  for (let i = 0; i < postIds.length; i++) {
    json += `${i === 0 ? '' : ','}"${postIds[i] as string}":${counts[i] ?? 0}`;
  }
  if (liked === undefined) return `${json}}}`;
  json += '},"liked":{';
  for (let i = 0; i < postIds.length; i++) {
    const postId = postIds[i] as string;
    json += `${i === 0 ? '' : ','}"${postId}":${liked.has(postId) ? 'true' : 'false'}`;
  }
  return `${json}}}`;
}

/** The `posts=` list of a read: distinct, valid, at most `max` (the rules of GET /v1/counts). */
export function parsePostList(raw: string, max: number): string[] {
  const ids = [...new Set(raw.split(','))];
  if (ids.length > max) throw new TallyError('too_many_posts', `${ids.length} posts in one read; at most ${max} (--max-read-posts); split the request`);
  const bad = ids.find((id) => !isValidId(id));
  if (bad !== undefined) throw new TallyError('invalid_id', `post id "${bad.slice(0, 80)}" in posts= is invalid; ids are 1 to 64 characters of A-Z a-z 0-9 _ -`);
  return ids;
}
